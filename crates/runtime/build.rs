//! Links this package's executables (the bench example and the test helper, which
//! both serve as the per-container monitor) as position-dependent executables: a
//! PIE's relocated read-only data (`.data.rel.ro`, ~0.5 MiB here) becomes private
//! dirty memory in every monitor, while a fixed-address image keeps it clean and
//! file-backed, so an idle monitor can drop it (see `helper::trim`). Trade-off: no
//! ASLR for the executable's own image (libraries, heap, stack stay randomised).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        println!("cargo:rustc-link-arg-examples=-no-pie");
    }
}
