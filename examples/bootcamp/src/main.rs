//! Entry point: the bootcamp HTTP server, or a minimal `curl` when invoked under that name.

mod clock;
mod curl;
mod server;

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("bootcamp")
        .to_string();
    if argv0 == "curl" {
        return curl::main(&args[1..]);
    }
    if args.get(1).map(String::as_str) == Some("curl") {
        return curl::main(&args[2..]);
    }
    server::main(&args[1..])
}
