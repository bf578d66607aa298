//! Live differential tests of `drain` on nodes with pods and of `wait` on pods that
//! become Ready or go away. Nodes are simulated (a Node with a Ready condition and a
//! renewed Lease); a small "kubelet" loop marks their pods Running and Ready through
//! pods/status and finishes graceful deletions. The real kubectl works on node `na`,
//! ours on its twin `nb`. (Server dry runs of evictions are left out: skiff's eviction
//! subresource does not honour dryRun yet.)

mod live;

use live::{norm, Server, OURS, REAL};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn node(name: &str) -> String {
    format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{kubernetes.io/hostname: {name}}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: bare-{name}}}\nspec:\n  nodeName: {name}\n  containers: [{{name: c, image: busybox}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: ed-{name}}}\nspec:\n  nodeName: {name}\n  volumes: [{{name: v, emptyDir: {{}}}}]\n  containers: [{{name: c, image: busybox}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: w-{name}}}\nspec:\n  nodeName: {name}\n  containers: [{{name: c, image: busybox}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: f-{name}, finalizers: [example.com/hold]}}\nspec:\n  nodeName: {name}\n  containers: [{{name: c, image: busybox}}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: dep-{name}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: dep-{name}}}}}\n  template:\n    metadata: {{labels: {{app: dep-{name}}}}}\n    spec:\n      nodeName: {name}\n      containers: [{{name: c, image: busybox}}]\n")
}

fn now(micro: bool) -> String {
    let f = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    chrono::Utc::now().format(f).to_string()
}

/// One round of the simulated kubelets of `nodes`.
fn kubelet_round(kubeconfig: &str, nodes: &[&str]) {
    let k = |args: &[&str], stdin: Option<String>| {
        let mut c = Command::new(REAL);
        c.args(args)
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let Ok(mut child) = c.spawn() else {
            return String::new();
        };
        if let (Some(text), Some(mut w)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            let _ = w.write_all(text.as_bytes());
        }
        child
            .wait_with_output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    for n in nodes {
        let lease = format!("apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: {n}\n  namespace: kube-node-lease\nspec:\n  holderIdentity: {n}\n  leaseDurationSeconds: 40\n  renewTime: \"{}\"\n", now(true));
        k(&["apply", "-f", "-"], Some(lease));
        let status = format!(
            r#"{{"status":{{"conditions":[{{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status","lastHeartbeatTime":"{}"}}],"capacity":{{"cpu":"4","memory":"8Gi","pods":"110"}},"allocatable":{{"cpu":"4","memory":"8Gi","pods":"110"}}}}}}"#,
            now(false)
        );
        k(
            &[
                "patch",
                "node",
                n,
                "--subresource=status",
                "--type=merge",
                "-p",
                &status,
            ],
            None,
        );
    }
    let list = k(
        &[
            "get",
            "pods",
            "-o",
            "go-template={{range .items}}{{.metadata.name}} {{.spec.nodeName}} {{.status.phase}} {{if .metadata.deletionTimestamp}}deleting{{else}}-{{end}}\n{{end}}",
        ],
        None,
    );
    for line in list.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [name, node, phase, deleting] = f[..] else {
            continue;
        };
        if !nodes.contains(&node) {
            continue;
        }
        if deleting == "deleting" {
            k(
                &["delete", "pod", name, "--grace-period=0", "--force"],
                None,
            );
        } else if phase != "Running" {
            let t = now(false);
            let st = format!(
                r#"{{"status":{{"phase":"Running","podIP":"10.42.0.9","conditions":[{{"type":"Ready","status":"True","lastTransitionTime":"{t}"}},{{"type":"ContainersReady","status":"True","lastTransitionTime":"{t}"}}]}}}}"#
            );
            k(
                &[
                    "patch",
                    "pod",
                    name,
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    &st,
                ],
                None,
            );
        }
    }
}

/// Outputs with pod-template hashes replaced, klog notices dropped and the lines sorted
/// (kubectl evicts pods concurrently, so their lines come in any order).
fn canon(b: &[u8], from: &str, to: &str) -> String {
    let text = norm(b).replace(from, to);
    let re = regex::Regex::new(r"(dep-n[ab])-[a-z0-9]+-[a-z0-9]+").ok();
    let text = match re {
        Some(re) => re.replace_all(&text, "$1-POD").into_owned(),
        None => text,
    };
    // client-go's klog notices (e.g. "very short watch" when --timeout cuts a watch)
    // come and go with timing
    let klog = regex::Regex::new(r"^[IWE]\d{4} ").ok();
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !klog.as_ref().is_some_and(|k| k.is_match(l)))
        .collect();
    lines.sort();
    lines.join("\n")
}

fn diff_sorted(s: &Server, args: &[&str]) -> Option<String> {
    let with = |n: &str| -> Vec<String> { args.iter().map(|a| a.replace('@', n)).collect() };
    let (ra, oa) = (with("na"), with("nb"));
    let a = s.kubectl(REAL, &ra.iter().map(String::as_str).collect::<Vec<_>>());
    let b = s.kubectl(OURS, &oa.iter().map(String::as_str).collect::<Vec<_>>());
    let (sa, sb) = (canon(&a.stdout, "", ""), canon(&b.stdout, "nb", "na"));
    let (ea, eb) = (canon(&a.stderr, "", ""), canon(&b.stderr, "nb", "na"));
    if sa == sb && ea == eb && a.status.code() == b.status.code() {
        return None;
    }
    Some(format!(
        "{args:?}\n--- real (exit {:?})\n{sa}\n{ea}\n--- ours (exit {:?})\n{sb}\n{eb}",
        a.status.code(),
        b.status.code()
    ))
}

/// Runs `wait` with both kubectls at once, and `then` while they wait.
fn wait_both(s: &Server, args: &[&str], then: impl FnOnce()) -> Option<String> {
    let spawn = |bin: &str, n: &str| {
        Command::new(bin)
            .args(args.iter().map(|a| a.replace('@', n)))
            .env("KUBECONFIG", &s.kubeconfig)
            .env("HOME", s.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    let (Ok(a), Ok(b)) = (spawn(REAL, "na"), spawn(OURS, "nb")) else {
        return Some("cannot start kubectl".into());
    };
    then();
    let (Ok(a), Ok(b)) = (a.wait_with_output(), b.wait_with_output()) else {
        return Some("kubectl did not finish".into());
    };
    let (sa, sb) = (canon(&a.stdout, "", ""), canon(&b.stdout, "nb", "na"));
    let (ea, eb) = (canon(&a.stderr, "", ""), canon(&b.stderr, "nb", "na"));
    if sa == sb && ea == eb && a.status.code() == b.status.code() {
        return None;
    }
    Some(format!(
        "{args:?}\n--- real (exit {:?})\n{sa}\n{ea}\n--- ours (exit {:?})\n{sb}\n{eb}",
        a.status.code(),
        b.status.code()
    ))
}

#[test]
fn drain_and_wait_match_real_kubectl() {
    let Some(s) = Server::start() else { return };
    s.apply(&format!("{}---\n{}", node("na"), node("nb")));
    let stop = Arc::new(AtomicBool::new(false));
    let sim = {
        let (stop, kc) = (stop.clone(), s.kubeconfig.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                kubelet_round(&kc, &["na", "nb"]);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let ready = s.wait_until(Duration::from_secs(60), |s| {
        let o = s.kubectl(
            REAL,
            &["get", "pods", "-o", "jsonpath={.items[*].status.phase}"],
        );
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.split(' ').filter(|p| *p == "Running").count() == 10
    });
    let mut diffs = Vec::new();
    if !ready {
        diffs.push("pods did not become Running".to_string());
    }
    for c in [
        &["wait", "--for=condition=Ready", "pod/w-@", "--timeout=30s"][..],
        &[
            "wait",
            "--for=condition=Ready=false",
            "pod/w-@",
            "--timeout=1s",
        ],
        &["wait", "--for=delete", "pod/w-@", "--timeout=1s"],
        &["wait", "--for=jsonpath={.status.phase}=Running", "pod/w-@"],
        &["cordon", "@", "--dry-run=client"],
        &["cordon", "@", "--dry-run=server"],
        &[
            "drain",
            "@",
            "--dry-run=client",
            "--force",
            "--delete-emptydir-data",
        ],
        &["get", "node", "@", "-o", "jsonpath={.spec.unschedulable}"],
        &["drain", "@", "--delete-emptydir-data"],
        &["uncordon", "@", "--dry-run=client"],
        &["drain", "@", "--force"],
        &[
            "drain",
            "@",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
        ],
    ] {
        if let Some(d) = diff_sorted(&s, c) {
            diffs.push(d);
        }
    }
    // the finalizer holds f-X after the eviction: drain waits until it is released
    let release = || {
        std::thread::sleep(Duration::from_secs(2));
        for n in ["na", "nb"] {
            let _ = s.kubectl(
                REAL,
                &[
                    "patch",
                    "pod",
                    &format!("f-{n}"),
                    "--type=merge",
                    "-p",
                    r#"{"metadata":{"finalizers":null}}"#,
                ],
            );
        }
    };
    if let Some(d) = wait_both(
        &s,
        &[
            "drain",
            "@",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--force",
        ],
        release,
    ) {
        diffs.push(d);
    }
    for c in [
        &[
            "get",
            "pods",
            "-o",
            "wide",
            "--field-selector",
            "spec.nodeName=@",
        ][..],
        &["uncordon", "@"],
        &["wait", "--for=delete", "pod/f-@", "--timeout=1s"],
    ] {
        if let Some(d) = diff_sorted(&s, c) {
            diffs.push(d);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = sim.join();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
