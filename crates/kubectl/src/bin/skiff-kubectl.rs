//! Test and benchmark entry point: the kubectl CLI as its own binary.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(skiff_kubectl::main(args));
}
