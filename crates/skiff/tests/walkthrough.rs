//! The "Pods and Nodes" tutorial end to end, word for word, once with the real kubectl on
//! the default OCI runtime (youki's libcontainer in-process) and once with `skiff kubectl`
//! on `--oci-runtime runc`, on a real single-node cluster (runtime, CNI, real containers).

mod common;

use common::{bootcamp_archive, free_port, http_get, oci_states, Cluster};
use std::process::{Command, Stdio};
use std::time::Duration;

const IMAGE: &str = "gcr.io/google-samples/kubernetes-bootcamp:v1";
const POD_NAMES: &str = r#"{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}"#;

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        text(&out)
    );
    text(&out)
}

fn walkthrough(kubectl: &[&str], oci_runtime: Option<&str>) {
    let flags: Vec<&str> = match oci_runtime {
        Some(name) => vec!["--oci-runtime", name],
        None => vec![],
    };
    let cluster = Cluster::start_with(&[bootcamp_archive("v1")], &flags);
    cluster.wait_until("node Ready", Duration::from_secs(60), |c| {
        text(&c.kubectl(kubectl, &["get", "nodes"])).contains(" Ready ")
    });

    ok(
        cluster.kubectl(
            kubectl,
            &[
                "create",
                "deployment",
                "kubernetes-bootcamp",
                &format!("--image={IMAGE}"),
            ],
        ),
        "create deployment",
    );
    cluster.wait_until("pod Running", Duration::from_secs(90), |c| {
        let pods = text(&c.kubectl(kubectl, &["get", "pods"]));
        pods.contains("1/1     Running")
    });

    let backend = oci_runtime.unwrap_or("youki");
    let backends: Vec<&str> = oci_states(&cluster.dir.path().join("agent/runtime/oci"))
        .iter()
        .map(|state| state.backend)
        .collect();
    assert!(
        !backends.is_empty() && backends.iter().all(|b| *b == backend),
        "expected containers run by {backend}, found {backends:?}"
    );

    // Step 1: get and describe.
    let pods = ok(cluster.kubectl(kubectl, &["get", "pods"]), "get pods");
    let header = pods.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("NAME") && header.contains("READY   STATUS    RESTARTS   AGE"),
        "{pods}"
    );
    let describe = ok(
        cluster.kubectl(kubectl, &["describe", "pods"]),
        "describe pods",
    );
    for needle in [
        "Name:",
        "Node:",
        "Status:",
        "Running",
        "IP:",
        IMAGE,
        "Events:",
        "Scheduled",
        "Started",
    ] {
        assert!(
            describe.contains(needle),
            "describe lacks {needle:?}:\n{describe}"
        );
    }

    // Step 2: proxy, pod name via go-template, the app through the proxy.
    let names = ok(
        cluster.kubectl(
            kubectl,
            &["get", "pods", "-o", "go-template", "--template", POD_NAMES],
        ),
        "go-template",
    );
    let pod = names.trim().to_string();
    assert!(
        pod.starts_with("kubernetes-bootcamp-") && !pod.contains('\n'),
        "{names:?}"
    );
    let proxy_port = free_port();
    let mut proxy = Command::new(kubectl[0])
        .args(&kubectl[1..])
        .args(["proxy", &format!("--port={proxy_port}")])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl proxy");
    let mut answer = String::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        answer = http_get(
            proxy_port,
            &format!("/api/v1/namespaces/default/pods/{pod}/proxy/"),
        );
        if answer.contains("Hello") {
            break;
        }
    }
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert!(
        answer.contains(&format!(
            "Hello Kubernetes bootcamp! | Running on: {pod} | v=1"
        )),
        "proxy answer: {answer}"
    );

    // Step 3: logs show the request we just made.
    let logs = ok(cluster.kubectl(kubectl, &["logs", &pod]), "logs");
    assert!(
        logs.contains("Kubernetes Bootcamp App Started At"),
        "{logs}"
    );
    assert!(logs.contains("Total Requests: 1"), "{logs}");

    // Step 4: exec, with and without `--`, and an interactive bash through a real pty.
    let env = ok(
        cluster.kubectl(kubectl, &["exec", &pod, "--", "env"]),
        "exec -- env",
    );
    assert!(env.contains(&format!("HOSTNAME={pod}")), "{env}");
    assert!(env.contains("KUBERNETES_SERVICE_HOST="), "{env}");
    // The old form without `--`: whatever the real kubectl does with it (1.33 refuses it
    // with a pointer to the new form), ours does byte for byte.
    let old_form = cluster.kubectl(kubectl, &["exec", &pod, "env"]);
    let reference = cluster.kubectl(&["/usr/bin/kubectl"], &["exec", &pod, "env"]);
    assert_eq!(
        old_form.status.code(),
        reference.status.code(),
        "{old_form:?}"
    );
    assert_eq!(
        old_form.stderr, reference.stderr,
        "old exec form: {old_form:?}"
    );
    if reference.status.success() {
        assert!(
            text(&old_form).contains(&format!("HOSTNAME={pod}")),
            "{old_form:?}"
        );
    }

    let mut command = kubectl.join(" ");
    command.push_str(&format!(" exec -ti {pod} -- bash"));
    let script = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    {
        use std::io::Write;
        let mut stdin = script.stdin.as_ref().expect("stdin");
        std::thread::sleep(Duration::from_secs(2));
        let _ = stdin.write_all(b"cat server.rs | head -3; curl localhost:8080; tty\n");
        std::thread::sleep(Duration::from_secs(2));
        let _ = stdin.write_all(b"exit\n");
    }
    let out = script.wait_with_output().expect("script output");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("Hello Kubernetes bootcamp!"),
        "interactive bash: {screen}"
    );
    assert!(
        screen.contains("/dev/pts/"),
        "no tty in interactive bash: {screen}"
    );

    ok(
        cluster.kubectl(kubectl, &["delete", "deployment", "kubernetes-bootcamp"]),
        "delete",
    );
    cluster.wait_until("pods gone", Duration::from_secs(60), |c| {
        !text(&c.kubectl(kubectl, &["get", "pods"])).contains("kubernetes-bootcamp")
    });
}

#[test]
fn walkthrough_with_real_kubectl() {
    walkthrough(&["/usr/bin/kubectl"], None);
}

#[test]
fn walkthrough_with_skiff_kubectl() {
    walkthrough(&[env!("CARGO_BIN_EXE_skiff"), "kubectl"], Some("runc"));
}
