//! The containers block of the Pod describer (and of pod templates): ports, command,
//! state, resources, probes, environment (with resolved field references) and mounts.

use crate::describe::util::rfc1123z;
use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, i, obj, s};
use serde_json::Value;

fn ports(list: &[Value], key: &str) -> String {
    list.iter()
        .map(|p| {
            let proto = match s(p, "/protocol") {
                "" => "TCP",
                x => x,
            };
            format!("{}/{proto}", i(p, &format!("/{key}")))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s
    }
}

/// `describeContainers`; `statuses` is None for templates; `pod` resolves fieldRefs.
pub fn containers(
    w: &mut GoTab,
    label: &str,
    list: &[Value],
    statuses: Option<&[Value]>,
    pod: Option<&Value>,
    space: &str,
) {
    if list.is_empty() {
        w.w(0, &format!("{space}{label}: <none>\n"));
    } else {
        w.w(0, &format!("{space}{label}:\n"));
    }
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in list {
        let name = s(c, "/name");
        let st = statuses.and_then(|l| l.iter().find(|x| s(x, "/name") == name));
        w.w(1, &format!("{name_indent}{name}:\n"));
        image_and_ports(w, c, st);
        command(w, c);
        if let Some(st) = st {
            status(w, st);
        }
        resources_and_probes(w, c);
        env(w, c, pod);
        mounts(w, c);
    }
}

/// Container ID, image (and its ID from the status), ports, host ports and the
/// restart policy of sidecar init containers.
fn image_and_ports(w: &mut GoTab, c: &Value, st: Option<&Value>) {
    if let Some(st) = st {
        w.w(2, &format!("Container ID:\t{}\n", s(st, "/containerID")));
    }
    w.w(2, &format!("Image:\t{}\n", s(c, "/image")));
    if let Some(st) = st {
        w.w(2, &format!("Image ID:\t{}\n", s(st, "/imageID")));
    }
    let cp = ports(arr(c, "/ports"), "containerPort");
    if cp.contains(',') {
        w.w(2, &format!("Ports:\t{cp}\n"));
    } else {
        w.w(2, &format!("Port:\t{}\n", or_none(cp)));
    }
    let hp = ports(arr(c, "/ports"), "hostPort");
    if hp.contains(',') {
        w.w(2, &format!("Host Ports:\t{hp}\n"));
    } else {
        w.w(2, &format!("Host Port:\t{}\n", or_none(hp)));
    }
    let rp = s(c, "/restartPolicy");
    if !rp.is_empty() {
        w.w(2, &format!("Restart Policy:\t{rp}\n"));
    }
}

/// Command and Args, one line per item (items with newlines split over lines).
fn command(w: &mut GoTab, c: &Value) {
    for (key, title) in [("/command", "Command"), ("/args", "Args")] {
        let items = arr(c, key);
        if !items.is_empty() {
            w.w(2, &format!("{title}:\n"));
            for it in items {
                for part in gv(Some(it)).split('\n') {
                    w.w(3, &format!("{part}\n"));
                }
            }
        }
    }
}

/// State, the last terminated state, Ready and Restart Count from a container status.
fn status(w: &mut GoTab, st: &Value) {
    state(w, "State", st.get("state"));
    if st.pointer("/lastState/terminated").is_some() {
        state(w, "Last State", st.get("lastState"));
    }
    let ready = st.get("ready").and_then(Value::as_bool) == Some(true);
    w.w(
        2,
        &format!("Ready:\t{}\n", if ready { "True" } else { "False" }),
    );
    w.w(2, &format!("Restart Count:\t{}\n", i(st, "/restartCount")));
}

/// Limits and Requests (sorted by resource name), then the probes.
fn resources_and_probes(w: &mut GoTab, c: &Value) {
    for (key, title) in [("limits", "Limits"), ("requests", "Requests")] {
        if let Some(m) = obj(c, &format!("/resources/{key}")).filter(|m| !m.is_empty()) {
            w.w(2, &format!("{title}:\n"));
            let mut names: Vec<&String> = m.keys().collect();
            names.sort();
            for n in names {
                w.w(3, &format!("{n}:\t{}\n", gv(m.get(n))));
            }
        }
    }
    for (key, title) in [
        ("livenessProbe", "Liveness"),
        ("readinessProbe", "Readiness"),
        ("startupProbe", "Startup"),
    ] {
        if let Some(pr) = c.get(key).filter(|v| v.is_object()) {
            w.w(2, &format!("{title}:\t{}\n", probe(pr)));
        }
    }
}

/// Mounts sorted by path: `PATH from VOLUME (ro|rw[,path="SUB"])`.
fn mounts(w: &mut GoTab, c: &Value) {
    let mut mounts: Vec<&Value> = arr(c, "/volumeMounts").iter().collect();
    if mounts.is_empty() {
        w.w(2, "Mounts:\t<none>\n");
    } else {
        w.w(2, "Mounts:\n");
    }
    mounts.sort_by_key(|m| s(m, "/mountPath").to_string());
    for m in mounts {
        let mut flags = vec![
            if m.get("readOnly").and_then(Value::as_bool) == Some(true) {
                "ro".to_string()
            } else {
                "rw".to_string()
            },
        ];
        let sub = s(m, "/subPath");
        if !sub.is_empty() {
            flags.push(format!("path={sub:?}"));
        }
        w.w(
            3,
            &format!(
                "{} from {} ({})\n",
                s(m, "/mountPath"),
                s(m, "/name"),
                flags.join(",")
            ),
        );
    }
}

fn state(w: &mut GoTab, title: &str, st: Option<&Value>) {
    let st = st.cloned().unwrap_or(Value::Null);
    if let Some(r) = st.get("running") {
        w.w(2, &format!("{title}:\tRunning\n"));
        w.w(3, &format!("Started:\t{}\n", rfc1123z(s(r, "/startedAt"))));
    } else if let Some(r) = st.get("waiting") {
        w.w(2, &format!("{title}:\tWaiting\n"));
        if !s(r, "/reason").is_empty() {
            w.w(3, &format!("Reason:\t{}\n", s(r, "/reason")));
        }
    } else if let Some(t) = st.get("terminated") {
        w.w(2, &format!("{title}:\tTerminated\n"));
        for (k, n) in [("/reason", "Reason"), ("/message", "Message")] {
            if !s(t, k).is_empty() {
                w.w(3, &format!("{n}:\t{}\n", s(t, k)));
            }
        }
        w.w(3, &format!("Exit Code:\t{}\n", i(t, "/exitCode")));
        if i(t, "/signal") > 0 {
            w.w(3, &format!("Signal:\t{}\n", i(t, "/signal")));
        }
        w.w(3, &format!("Started:\t{}\n", rfc1123z(s(t, "/startedAt"))));
        w.w(
            3,
            &format!("Finished:\t{}\n", rfc1123z(s(t, "/finishedAt"))),
        );
    } else {
        w.w(2, &format!("{title}:\tWaiting\n"));
    }
}

fn probe(p: &Value) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        i(p, "/initialDelaySeconds"),
        i(p, "/timeoutSeconds"),
        i(p, "/periodSeconds"),
        i(p, "/successThreshold"),
        i(p, "/failureThreshold")
    );
    if let Some(e) = p.get("exec") {
        let cmd: Vec<String> = arr(e, "/command").iter().map(|v| gv(Some(v))).collect();
        return format!("exec [{}] {attrs}", cmd.join(" "));
    }
    if let Some(h) = p.get("httpGet") {
        let scheme = s(h, "/scheme").to_lowercase();
        let port = gv(h.get("port"));
        let host = s(h, "/host");
        let hostport = if port.is_empty() {
            host.to_string()
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let scheme = if scheme.is_empty() {
            String::new()
        } else {
            format!("{scheme}:")
        };
        return format!("http-get {scheme}//{hostport}{} {attrs}", s(h, "/path"));
    }
    if let Some(t) = p.get("tcpSocket") {
        return format!("tcp-socket {}:{} {attrs}", s(t, "/host"), gv(t.get("port")));
    }
    if let Some(g) = p.get("grpc") {
        return format!("grpc <pod>:{} {} {attrs}", i(g, "/port"), s(g, "/service"));
    }
    format!("unknown {attrs}")
}

fn field_value(pod: Option<&Value>, path: &str) -> String {
    let Some(p) = pod else { return String::new() };
    let ptr = match path {
        "metadata.name" => "/metadata/name",
        "metadata.namespace" => "/metadata/namespace",
        "metadata.uid" => "/metadata/uid",
        "spec.nodeName" => "/spec/nodeName",
        "spec.serviceAccountName" => "/spec/serviceAccountName",
        "status.hostIP" => "/status/hostIP",
        "status.podIP" => "/status/podIP",
        _ => return String::new(),
    };
    s(p, ptr).to_string()
}

fn env(w: &mut GoTab, c: &Value, pod: Option<&Value>) {
    let list = arr(c, "/env");
    if list.is_empty() {
        w.w(2, "Environment:\t<none>\n");
    } else {
        w.w(2, "Environment:\n");
    }
    for e in list {
        let name = s(e, "/name");
        let Some(from) = e.get("valueFrom").filter(|v| v.is_object()) else {
            for (n, part) in s(e, "/value").split('\n').enumerate() {
                if n == 0 {
                    w.w(3, &format!("{name}:\t{part}\n"));
                } else {
                    w.w(3, &format!("\t{part}\n"));
                }
            }
            continue;
        };
        let optional = |v: &Value| v.get("optional").and_then(Value::as_bool) == Some(true);
        if let Some(f) = from.get("fieldRef") {
            let path = s(f, "/fieldPath");
            w.w(
                3,
                &format!(
                    "{name}:\t{} ({}:{path})\n",
                    field_value(pod, path),
                    s(f, "/apiVersion")
                ),
            );
        } else if let Some(r) = from.get("resourceFieldRef") {
            w.w(
                3,
                &format!(
                    "{name}:\t{} ({})\n",
                    s(r, "/containerName"),
                    s(r, "/resource")
                ),
            );
        } else if let Some(r) = from.get("secretKeyRef") {
            w.w(
                3,
                &format!(
                    "{name}:\t<set to the key '{}' in secret '{}'>\tOptional: {}\n",
                    s(r, "/key"),
                    s(r, "/name"),
                    optional(r)
                ),
            );
        } else if let Some(r) = from.get("configMapKeyRef") {
            w.w(
                3,
                &format!(
                    "{name}:\t<set to the key '{}' of config map '{}'>\tOptional: {}\n",
                    s(r, "/key"),
                    s(r, "/name"),
                    optional(r)
                ),
            );
        }
    }
}
