//! The Pod describer and the pieces workloads reuse: containers (ports, command, state,
//! resources, probes, environment, mounts), volumes and the pod template.

use crate::describe::util::{
    annotations, controller_of, events, labels, rfc1123z, since, tolerations,
};
use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, i, obj, s};
use serde_json::Value;

/// `describePod`.
pub fn pod(p: &Value, evs: Option<&[Value]>) -> String {
    let mut w = GoTab::new();
    w.w(0, &format!("Name:\t{}\n", s(p, "/metadata/name")));
    w.w(0, &format!("Namespace:\t{}\n", s(p, "/metadata/namespace")));
    if let Some(prio) = p.pointer("/spec/priority").and_then(Value::as_i64) {
        w.w(0, &format!("Priority:\t{prio}\n"));
    }
    let pc = s(p, "/spec/priorityClassName");
    if !pc.is_empty() {
        w.w(0, &format!("Priority Class Name:\t{pc}\n"));
    }
    let rc = s(p, "/spec/runtimeClassName");
    if !rc.is_empty() {
        w.w(0, &format!("Runtime Class Name:\t{rc}\n"));
    }
    let sa = s(p, "/spec/serviceAccountName");
    if !sa.is_empty() {
        w.w(0, &format!("Service Account:\t{sa}\n"));
    }
    let node = s(p, "/spec/nodeName");
    if node.is_empty() {
        w.w(0, "Node:\t<none>\n");
    } else {
        w.w(0, &format!("Node:\t{node}/{}\n", s(p, "/status/hostIP")));
    }
    let start = s(p, "/status/startTime");
    if !start.is_empty() {
        w.w(0, &format!("Start Time:\t{}\n", rfc1123z(start)));
    }
    labels(&mut w, "Labels", obj(p, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(p, "/metadata/annotations"));
    let phase = s(p, "/status/phase");
    let deleting = s(p, "/metadata/deletionTimestamp");
    if !deleting.is_empty() && phase != "Failed" && phase != "Succeeded" {
        w.w(
            0,
            &format!("Status:\tTerminating (lasts {})\n", since(deleting)),
        );
        w.w(
            0,
            &format!(
                "Termination Grace Period:\t{}s\n",
                i(p, "/metadata/deletionGracePeriodSeconds")
            ),
        );
    } else {
        w.w(0, &format!("Status:\t{phase}\n"));
    }
    for (key, title) in [("/status/reason", "Reason"), ("/status/message", "Message")] {
        let v = s(p, key);
        if !v.is_empty() {
            w.w(0, &format!("{title}:\t{v}\n"));
        }
    }
    let seccomp = s(p, "/spec/securityContext/seccompProfile/type");
    if !seccomp.is_empty() {
        w.w(0, &format!("SeccompProfile:\t{seccomp}\n"));
        let lh = s(p, "/spec/securityContext/seccompProfile/localhostProfile");
        if seccomp == "Localhost" && !lh.is_empty() {
            w.w(0, &format!("LocalhostProfile:\t{lh}\n"));
        }
    }
    w.w(0, &format!("IP:\t{}\n", s(p, "/status/podIP")));
    let ips = arr(p, "/status/podIPs");
    if ips.is_empty() {
        w.w(0, "IPs:\t<none>\n");
    } else {
        w.w(0, "IPs:\n");
        for ip in ips {
            w.w(1, &format!("IP:\t{}\n", s(ip, "/ip")));
        }
    }
    if let Some(c) = controller_of(p) {
        w.w(0, &format!("Controlled By:\t{c}\n"));
    }
    let nn = s(p, "/status/nominatedNodeName");
    if !nn.is_empty() {
        w.w(0, &format!("NominatedNodeName:\t{nn}\n"));
    }
    let inits = arr(p, "/spec/initContainers");
    if !inits.is_empty() {
        containers(
            &mut w,
            "Init Containers",
            inits,
            Some(arr(p, "/status/initContainerStatuses")),
            Some(p),
            "",
        );
    }
    containers(
        &mut w,
        "Containers",
        arr(p, "/spec/containers"),
        Some(arr(p, "/status/containerStatuses")),
        Some(p),
        "",
    );
    let conds = arr(p, "/status/conditions");
    if !conds.is_empty() {
        w.w(0, "Conditions:\n  Type\tStatus\n");
        for c in conds {
            w.w(1, &format!("{} \t{} \n", s(c, "/type"), s(c, "/status")));
        }
    }
    volumes(&mut w, arr(p, "/spec/volumes"), "");
    let qos = match s(p, "/status/qosClass") {
        "" => qos_class(p),
        q => q.to_string(),
    };
    w.w(0, &format!("QoS Class:\t{qos}\n"));
    labels(&mut w, "Node-Selectors", obj(p, "/spec/nodeSelector"));
    tolerations(&mut w, "Tolerations", arr(p, "/spec/tolerations"));
    if let Some(evs) = evs {
        events(&mut w, evs);
    }
    w.finish()
}

/// The QoS class computed from requests and limits (when status lacks it).
fn qos_class(p: &Value) -> String {
    let all: Vec<&Value> = arr(p, "/spec/containers")
        .iter()
        .chain(arr(p, "/spec/initContainers"))
        .collect();
    let empty =
        |c: &Value, k: &str| obj(c, &format!("/resources/{k}")).is_none_or(|m| m.is_empty());
    if all
        .iter()
        .all(|c| empty(c, "requests") && empty(c, "limits"))
    {
        return "BestEffort".into();
    }
    let guaranteed = all.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let l = c.pointer(&format!("/resources/limits/{r}"));
            let q = c.pointer(&format!("/resources/requests/{r}")).or(l);
            l.is_some() && l == q
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
    .into()
}

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
        if let Some(st) = st {
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
        env(w, c, pod);
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

/// `describeVolumes`.
pub fn volumes(w: &mut GoTab, list: &[Value], space: &str) {
    if list.is_empty() {
        w.w(0, &format!("{space}Volumes:\t<none>\n"));
        return;
    }
    w.w(0, &format!("{space}Volumes:\n"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in list {
        w.w(1, &format!("{name_indent}{}:\n", s(v, "/name")));
        if let Some(h) = v.get("hostPath") {
            let t = match s(h, "/type") {
                "" => "<none>",
                t => t,
            };
            w.w(2, &format!("Type:\tHostPath (bare host directory volume)\n    Path:\t{}\n    HostPathType:\t{t}\n", s(h, "/path")));
        } else if let Some(e) = v.get("emptyDir") {
            let limit = match gv(e.get("sizeLimit")) {
                l if l.is_empty() || l == "0" => "<unset>".to_string(),
                l => l,
            };
            w.w(2, &format!("Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t{}\n    SizeLimit:\t{limit}\n", s(e, "/medium")));
        } else if let Some(c) = v.get("configMap") {
            let opt = c.get("optional").and_then(Value::as_bool) == Some(true);
            w.w(2, &format!("Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t{}\n    Optional:\t{opt}\n", s(c, "/name")));
        } else if let Some(c) = v.get("secret") {
            let opt = c.get("optional").and_then(Value::as_bool) == Some(true);
            w.w(2, &format!("Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t{}\n    Optional:\t{opt}\n", s(c, "/secretName")));
        } else if let Some(pr) = v.get("projected") {
            w.w(
                2,
                "Type:\tProjected (a volume that contains injected data from multiple sources)\n",
            );
            for src in arr(pr, "/sources") {
                let opt = |x: &Value| x.get("optional").and_then(Value::as_bool) == Some(true);
                if let Some(x) = src.get("secret") {
                    w.w(
                        2,
                        &format!(
                            "SecretName:\t{}\n    SecretOptionalName:\t{}\n",
                            s(x, "/name"),
                            opt(x)
                        ),
                    );
                } else if src.get("downwardAPI").is_some() {
                    w.w(2, "DownwardAPI:\ttrue\n");
                } else if let Some(x) = src.get("configMap") {
                    w.w(
                        2,
                        &format!(
                            "ConfigMapName:\t{}\n    Optional:\t{}\n",
                            s(x, "/name"),
                            opt(x)
                        ),
                    );
                } else if let Some(x) = src.get("serviceAccountToken") {
                    w.w(
                        2,
                        &format!("TokenExpirationSeconds:\t{}\n", i(x, "/expirationSeconds")),
                    );
                }
            }
        } else if let Some(c) = v.get("persistentVolumeClaim") {
            let ro = c.get("readOnly").and_then(Value::as_bool) == Some(true);
            w.w(2, &format!("Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t{}\n    ReadOnly:\t{ro}\n", s(c, "/claimName")));
        } else {
            w.w(1, "<unknown>\n");
        }
    }
}

/// `DescribePodTemplate`.
pub fn template(w: &mut GoTab, t: Option<&Value>) {
    w.w(0, "Pod Template:\n");
    let Some(t) = t else {
        w.w(1, "<unset>");
        return;
    };
    labels(w, "  Labels", obj(t, "/metadata/labels"));
    if obj(t, "/metadata/annotations").is_some_and(|m| !m.is_empty()) {
        annotations(w, "  Annotations", obj(t, "/metadata/annotations"));
    }
    let sa = s(t, "/spec/serviceAccountName");
    if !sa.is_empty() {
        w.w(1, &format!("Service Account:\t{sa}\n"));
    }
    let inits = arr(t, "/spec/initContainers");
    if !inits.is_empty() {
        containers(w, "Init Containers", inits, None, None, "  ");
    }
    containers(
        w,
        "Containers",
        arr(t, "/spec/containers"),
        None,
        None,
        "  ",
    );
    volumes(w, arr(t, "/spec/volumes"), "  ");
    let pc = s(t, "/spec/priorityClassName");
    if !pc.is_empty() {
        w.w(1, &format!("Priority Class Name:\t{pc}\n"));
    }
    labels(w, "  Node-Selectors", obj(t, "/spec/nodeSelector"));
    tolerations(w, "  Tolerations", arr(t, "/spec/tolerations"));
}
