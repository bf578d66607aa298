//! Links the `skiff` executable position-dependent (as Go builds k3s): the binary is
//! also every container's monitor, and a PIE's relocated read-only data
//! (`.data.rel.ro`, about 0.5 MiB) would be private dirty memory in each of them; at
//! a fixed address it stays clean and file-backed, and an idle monitor drops it
//! (see `skiff_runtime`'s `helper::trim`). Trade-off: no ASLR for the executable's
//! own image (libraries, heap, stack and mmaps stay randomised).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
