//! The Kubernetes bootcamp web app: answers every request on port 8080 with a greeting naming the
//! host it runs on, and logs one line per request (like the tutorial's `server.js`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock;

/// The app version shown in every answer; chosen at build time (`BOOTCAMP_VERSION=2 cargo build`),
/// overridable at run time with `--version N` or the `BOOTCAMP_VERSION` environment variable.
const BUILD_VERSION: &str = match option_env!("BOOTCAMP_VERSION") {
    Some(v) => v,
    None => "1",
};

struct App {
    host: String,
    version: String,
    started: Instant,
    requests: AtomicU64,
}

pub fn main(args: &[String]) -> ExitCode {
    let mut port: u16 = 8080;
    let mut version = std::env::var("BOOTCAMP_VERSION").unwrap_or_else(|_| BUILD_VERSION.to_string());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" | "-p" => match it.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => return usage(),
            },
            "--version" => match it.next() {
                Some(v) => version = v.trim_start_matches('v').to_string(),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    install_signal_handlers();
    let app = Arc::new(App {
        host: hostname(),
        version,
        started: Instant::now(),
        requests: AtomicU64::new(0),
    });
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bootcamp: cannot listen on port {port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `kubectl create deployment` declares no containerPort, and the API server's
    // `pods/NAME/proxy/` then dials the pod IP on port 80 (upstream's default): answer there
    // too, best effort, so the tutorial's proxy step reaches the app.
    if port == 8080 {
        if let Ok(extra) = TcpListener::bind(("0.0.0.0", 80)) {
            let app = Arc::clone(&app);
            std::thread::spawn(move || accept_loop(extra, &app));
        }
    }
    println!(
        "Kubernetes Bootcamp App Started At: {} | Running On:  {} \n",
        clock::now_iso(),
        app.host
    );
    accept_loop(listener, &app);
    ExitCode::SUCCESS
}

fn accept_loop(listener: TcpListener, app: &Arc<App>) {
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let app = Arc::clone(app);
        std::thread::spawn(move || serve(stream, &app));
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: bootcamp [--port N] [--version N]   (as `curl`: curl [-s] [-i] URL)");
    ExitCode::from(2)
}

/// Serves one connection, keeping it alive while the client asks for that.
fn serve(stream: TcpStream, app: &App) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(write_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut out = write_half;
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut keep_alive = request_line.contains("HTTP/1.1");
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let h = header.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                if name.eq_ignore_ascii_case("connection") {
                    keep_alive = !value.trim().eq_ignore_ascii_case("close");
                }
            }
        }
        let count = app.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let body = format!(
            "Hello Kubernetes bootcamp! | Running on: {} | v={}\n",
            app.host, app.version
        );
        let head_only = request_line.starts_with("HEAD ");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nDate: {}\r\nConnection: {}\r\n\r\n{}",
            body.len(),
            clock::now_iso(),
            if keep_alive { "keep-alive" } else { "close" },
            if head_only { "" } else { body.as_str() }
        );
        println!(
            "Running On: {} | Total Requests: {} | App Uptime: {:.3} seconds | Log Time: {}",
            app.host,
            count,
            app.started.elapsed().as_secs_f64(),
            clock::now_iso()
        );
        if out.write_all(response.as_bytes()).is_err() || !keep_alive {
            return;
        }
    }
}

/// `$HOSTNAME` if set (container runtimes set it to the pod name), else the kernel's hostname.
fn hostname() -> String {
    if let Ok(h) = std::env::var("HOSTNAME") {
        if !h.is_empty() {
            return h;
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn _exit(status: i32) -> !;
}

extern "C" fn on_terminate(_sig: i32) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { _exit(0) }
}

/// As PID 1 in a container, SIGTERM/SIGINT are ignored unless handled: exit promptly on them.
fn install_signal_handlers() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    // SAFETY: installs a handler that only calls an async-signal-safe function.
    unsafe {
        signal(SIGTERM, on_terminate);
        signal(SIGINT, on_terminate);
    }
}
