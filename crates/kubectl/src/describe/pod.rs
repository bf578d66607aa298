//! The Pod describer and the pieces workloads reuse: volumes and the pod template (the
//! containers block is in `describe::containers`).

use crate::describe::containers::containers;
use crate::describe::util::{
    annotations, controller_of, events, labels, rfc1123z, since, tolerations,
};
use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, i, obj, s};
use serde_json::Value;

/// `describePod`.
pub fn pod(p: &Value, evs: Option<&[Value]>) -> String {
    let mut w = GoTab::new();
    header(&mut w, p);
    labels(&mut w, "Labels", obj(p, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(p, "/metadata/annotations"));
    status(&mut w, p);
    addresses(&mut w, p);
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

/// Name, namespace, priority, classes, service account, node and start time.
fn header(w: &mut GoTab, p: &Value) {
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
}

/// Status (or Terminating with the grace period), reason, message and the seccomp
/// profile.
fn status(w: &mut GoTab, p: &Value) {
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
}

/// IP and IPs, the controller and the nominated node.
fn addresses(w: &mut GoTab, p: &Value) {
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
}

/// The QoS class computed from requests and limits (when status lacks it), by the one rule
/// in skiff-api.
fn qos_class(p: &Value) -> String {
    skiff_api::qos::pod_qos_class_json(p).as_str().to_string()
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
