//! The `skiff` binary: argument parsing and wiring only; the work lives in the crates.

mod agent;
mod cli;
mod client;
mod identity;
mod image;
mod node;
mod server;

use clap::Parser;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Dispatch the entry points that must not start a tokio runtime first:
    // kubectl (its own lean runtime, fast start) and the runtime's re-executed helpers
    // (they fork/unshare, which a multi-threaded process must not do).
    let argv0 = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    if argv0 == "kubectl" {
        std::process::exit(skiff_kubectl::main(args[1..].to_vec()));
    }
    match args.get(1).map(String::as_str) {
        Some("kubectl") => std::process::exit(skiff_kubectl::main(args[2..].to_vec())),
        Some("runtime-helper") => std::process::exit(skiff_runtime::helper_main(&args[2..])),
        _ => {}
    }

    let cli = cli::Cli::parse();
    init_tracing(cli.debug);
    if let Err(err) = run(cli) {
        eprintln!("skiff: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    // One TLS provider for every crate (kube, the API server, registry pulls).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Server(args) => server::run(args).await,
            cli::Command::Agent(args) => agent::run(args).await,
            cli::Command::Image(args) => image::run(args).await,
        }
    })
}

fn init_tracing(debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
