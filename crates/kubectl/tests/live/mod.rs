//! A live control plane for differential tests: `skiff server --disable-agent` on a free
//! port in a temp dir, killed (by PID) when dropped; the real kubectl and ours run
//! against it and their outputs are compared with ages normalised.

// each test binary uses a different subset of these helpers
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The real kubectl used as the reference.
pub const REAL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
/// Our kubectl.
pub const OURS: &str = env!("CARGO_BIN_EXE_skiff-kubectl");

/// The `skiff` binary, or `$SKIFF_BIN`: cargo builds it into the same target dir as this
/// test executable (`<target>/debug/deps/<test>` → `<target>/debug/skiff`), wherever
/// `CARGO_TARGET_DIR` points.
pub fn skiff_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SKIFF_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("skiff");
    p.exists().then_some(p)
}

/// Whether a missing prerequisite may skip a live test: never in CI, where a skip would
/// hide a broken setup.
pub fn may_skip(why: &str) -> bool {
    assert!(
        std::env::var_os("CI").is_none(),
        "live test prerequisite missing in CI: {why}"
    );
    eprintln!("skipping: {why}");
    true
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .ok()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A running server.
pub struct Server {
    child: Child,
    /// Its temp dir (data dir, kubeconfig, manifests).
    pub dir: tempfile::TempDir,
    /// Path of the admin kubeconfig.
    pub kubeconfig: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts a server, or None (test skipped) when skiff or the real kubectl is missing.
    pub fn start() -> Option<Server> {
        if !Path::new(REAL).exists() && may_skip(&format!("{REAL} not installed")) {
            return None;
        }
        let Some(bin) = skiff_bin() else {
            may_skip("the skiff binary is not built (cargo build -p skiff)");
            return None;
        };
        let dir = tempfile::tempdir().ok()?;
        let kubeconfig = dir.path().join("kubeconfig.yaml").display().to_string();
        let log = std::fs::File::create(dir.path().join("server.log")).ok()?;
        let child = Command::new(bin)
            .args(["server", "--disable-agent", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--https-listen-port", &free_port().to_string()])
            .args([
                "--bind-address",
                "127.0.0.1",
                "--write-kubeconfig",
                &kubeconfig,
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .ok()?;
        let s = Server {
            child,
            dir,
            kubeconfig,
        };
        let ok = s.wait_until(Duration::from_secs(60), |s| {
            s.kubectl(REAL, &["get", "ns", "default"]).status.success()
        });
        assert!(ok, "server did not come up");
        Some(s)
    }

    /// Runs a kubectl binary against this server.
    pub fn kubectl(&self, bin: &str, args: &[&str]) -> Output {
        let out = Command::new(bin)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) => o,
            Err(e) => panic!("cannot run {bin}: {e}"),
        }
    }

    /// Polls `f` until true or the timeout passes.
    pub fn wait_until(&self, timeout: Duration, f: impl Fn(&Server) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    /// Applies a manifest with the real kubectl.
    pub fn apply(&self, yaml: &str) {
        let p = self.dir.path().join("m.yaml");
        let _ = std::fs::write(&p, yaml);
        let o = self.kubectl(REAL, &["apply", "-f", &p.display().to_string()]);
        assert!(
            o.status.success(),
            "apply failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Compares the real kubectl and ours on `args`; retries once (ages tick, events
    /// arrive) before reporting the difference.
    pub fn diff(&self, args: &[&str]) -> Option<String> {
        let mut last = None;
        for _ in 0..3 {
            let a = self.kubectl(REAL, args);
            let b = self.kubectl(OURS, args);
            let (sa, sb) = (norm(&a.stdout), norm(&b.stdout));
            let (ea, eb) = (norm(&a.stderr), norm(&b.stderr));
            if sa == sb && ea == eb && a.status.code() == b.status.code() {
                return None;
            }
            last = Some(format!(
                "{args:?}\n--- real (exit {:?})\n{sa}{ea}--- ours (exit {:?})\n{sb}{eb}",
                a.status.code(),
                b.status.code()
            ));
            std::thread::sleep(Duration::from_millis(300));
        }
        last
    }
}

impl Server {
    /// Runs `args` (with `@` standing for a name) through the real kubectl on object
    /// `real` and ours on the twin object `ours`; compares with the names unified.
    pub fn diff_twin(&self, args: &[&str], real: &str, ours: &str) -> Option<String> {
        let with = |n: &str| -> Vec<String> { args.iter().map(|a| a.replace('@', n)).collect() };
        let ra = with(real);
        let oa = with(ours);
        let a = self.kubectl(REAL, &ra.iter().map(String::as_str).collect::<Vec<_>>());
        let b = self.kubectl(OURS, &oa.iter().map(String::as_str).collect::<Vec<_>>());
        let fix = |v: &[u8]| norm(v).replace(ours, real);
        let (sa, sb) = (norm(&a.stdout), fix(&b.stdout));
        let (ea, eb) = (norm(&a.stderr), fix(&b.stderr));
        if sa == sb && ea == eb && a.status.code() == b.status.code() {
            return None;
        }
        Some(format!(
            "{args:?}\n--- real (exit {:?})\n{sa}{ea}--- ours (exit {:?})\n{sb}{eb}",
            a.status.code(),
            b.status.code()
        ))
    }
}

/// Replaces ages (`5s`, `3m2s`, `<invalid>`) with `AGE` and collapses the padding after
/// them, so that outputs taken a moment apart compare equal.
pub fn norm(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out = String::new();
    for line in s.lines() {
        let mut words = Vec::new();
        for w in line.split(' ') {
            // runc's own error lines carry a wall-clock stamp (`time="…Z"`): not ours to match
            let w = if w.starts_with("time=\"") {
                "time=TIME"
            } else {
                w
            };
            words.push(if is_age(w) { "AGE" } else { w });
        }
        let joined = words.join(" ");
        // collapse runs of spaces: widths depend on the age text
        let mut prev_space = false;
        for c in joined.chars() {
            if c == ' ' {
                if !prev_space {
                    out.push(c);
                }
                prev_space = true;
            } else {
                out.push(c);
                prev_space = false;
            }
        }
        out.push('\n');
    }
    out
}

fn is_age(w: &str) -> bool {
    let w = w.trim_end_matches(',');
    if w.is_empty() || !w.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    let mut digits = false;
    let mut units = 0;
    for c in w.chars() {
        if c.is_ascii_digit() {
            digits = true;
        } else if "smhdy".contains(c) && digits {
            digits = false;
            units += 1;
        } else {
            return false;
        }
    }
    !digits && units > 0
}
