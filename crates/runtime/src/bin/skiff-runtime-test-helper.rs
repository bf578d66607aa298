//! Test stand-in for the `skiff` binary's helper dispatch: `<exe> runtime-helper …`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("runtime-helper") {
        std::process::exit(skiff_runtime::helper_main(&args[2..]));
    }
    eprintln!(
        "usage: {} runtime-helper infra|monitor|exec-wait …",
        args[0]
    );
    std::process::exit(2);
}
