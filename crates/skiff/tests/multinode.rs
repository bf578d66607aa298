//! A real multi-node cluster on one machine: a server and two agents, each in a network
//! namespace of its own (see `multinode_support`), joined by the host-gw pod network, with
//! the real kubectl and real containers.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
mod multinode_support;

use multinode_support::{Hosts, IMAGE};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Node name → whether it is Ready.
fn ready_nodes(c: &Hosts) -> BTreeMap<String, bool> {
    let nodes = c.json(&["nodes"]);
    let items = nodes["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|n| {
            let ready = n["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            (
                n["metadata"]["name"].as_str().unwrap_or("").to_string(),
                ready,
            )
        })
        .collect()
}

/// The Running pods of deployment `app`: (name, node, pod IP).
fn running_pods(c: &Hosts, app: &str) -> Vec<(String, String, String)> {
    let pods = c.json(&["pods", "-l", &format!("app={app}")]);
    let items = pods["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|p| {
            p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()
        })
        .filter(|p| {
            p["status"]["containerStatuses"]
                .as_array()
                .is_some_and(|cs| cs.iter().all(|s| s["ready"] == true))
        })
        .map(|p| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_string();
            (
                s(&p["metadata"]["name"]),
                s(&p["spec"]["nodeName"]),
                s(&p["status"]["podIP"]),
            )
        })
        .collect()
}

/// `kubectl exec POD -- args…`, retried until it succeeds with output containing `want`.
fn exec_until(c: &Hosts, pod: &str, args: &[&str], want: &str) -> String {
    let mut all = vec!["exec", pod, "--"];
    all.extend_from_slice(args);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = c.kubectl(&all);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && text.contains(want) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl {all:?} never answered {want:?}: {text}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            c.log_tails(20)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What `server_pod` sees as the peer address of a TCP connection from `client_pod`:
/// busybox nc on the server side answers with its own `netstat -tn`.
fn peer_seen_by(c: &Hosts, server_pod: &str, server_ip: &str, client_pod: &str) -> String {
    let listener = Command::new(multinode_support::KUBECTL)
        .args([
            "exec", server_pod, "--", "nc", "-l", "-p", "9000", "-e", "netstat", "-tn",
        ])
        .env("KUBECONFIG", &c.kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl exec nc -l");
    let dial = format!("sleep 2 | nc {server_ip} 9000");
    let text = exec_until(c, client_pod, &["sh", "-c", &dial], ":9000");
    let mut listener = listener;
    let _ = listener.kill();
    let _ = listener.wait();
    text
}

#[test]
fn three_hosts_one_pod_network() {
    let mut c = Hosts::new(3);
    c.start_server(&[]);
    c.start_agent(
        1,
        &[
            "--node-taint",
            "example.com/test=yes:PreferNoSchedule",
            "--node-external-ip",
            "198.51.100.7",
        ],
    );
    c.start_agent(2, &[]);
    let names: BTreeSet<String> = c.hosts.iter().map(|h| h.name.clone()).collect();
    c.wait_until("three Ready nodes", Duration::from_secs(120), |c| {
        let ready = ready_nodes(c);
        names.iter().all(|n| ready.get(n) == Some(&true))
    });

    // Identity: addresses, roles, taints; each node has its own pod CIDR inside the cluster's.
    let wide = c.ok(&["get", "nodes", "-o", "wide"]);
    for h in &c.hosts {
        let line = wide
            .lines()
            .find(|l| l.starts_with(&h.name))
            .unwrap_or_default();
        assert!(
            line.contains(&h.ip),
            "{} lacks its INTERNAL-IP {}: {wide}",
            h.name,
            h.ip
        );
    }
    let server_line = wide
        .lines()
        .find(|l| l.starts_with(&c.hosts[0].name))
        .unwrap();
    assert!(
        server_line.contains("control-plane"),
        "ROLES of the server: {wide}"
    );
    let agent1 = c.json(&["node", &c.hosts[1].name]);
    assert_eq!(
        agent1["spec"]["taints"][0]["key"], "example.com/test",
        "{agent1}"
    );
    assert!(agent1["status"]["addresses"]
        .to_string()
        .contains("198.51.100.7"));

    // Every node routes the other two pod CIDRs through their hosts, and says so.
    c.wait_until(
        "host-gw routes and NetworkUnavailable=False",
        Duration::from_secs(60),
        |c| {
            let nodes = c.json(&["nodes"]);
            let items = nodes["items"].as_array().cloned().unwrap_or_default();
            let available = items.iter().all(|n| {
                n["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| {
                        k["type"] == "NetworkUnavailable"
                            && k["status"] == "False"
                            && k["reason"] == "RouteCreated"
                    })
            });
            available && (0..3).all(|i| c.pod_routes(i).len() == 2)
        },
    );
    let nodes = c.json(&["nodes"]);
    for (i, h) in c.hosts.iter().enumerate() {
        let routes = c.pod_routes(i).join("\n");
        for (j, other) in c.hosts.iter().enumerate().filter(|(j, _)| *j != i) {
            let node = nodes["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["metadata"]["name"] == other.name.as_str())
                .unwrap();
            let cidr = node["spec"]["podCIDR"].as_str().unwrap();
            assert!(
                routes.contains(&format!("{cidr} via {}", other.ip)),
                "host{i} lacks a route to host{j}'s {cidr}: {routes}"
            );
        }
        assert!(!routes.contains("default"), "{}: {routes}", h.name);
    }

    // A deployment spreads over the nodes.
    // (It tolerates agent1's test taint, which would otherwise steer the pods away.)
    c.apply(&format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app: web}}}}
spec:
  replicas: 6
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      tolerations: [{{key: example.com/test, operator: Exists}}]
      containers: [{{name: kubernetes-bootcamp, image: \"{IMAGE}\"}}]
"
    ));
    c.wait_until("6 web pods Running", Duration::from_secs(180), |c| {
        running_pods(c, "web").len() == 6
    });
    let pods = running_pods(&c, "web");
    let by_node: BTreeSet<&str> = pods.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(
        by_node.len(),
        3,
        "pods not spread over the three nodes: {pods:?}"
    );

    // Pod to pod across nodes, both ways, with the client's own address seen by the server.
    let on = |node: &str| pods.iter().find(|(_, n, _)| n == node).unwrap().clone();
    let (a, b) = (on(&c.hosts[1].name), on(&c.hosts[2].name));
    for (client, server) in [(&a, &b), (&b, &a)] {
        let url = format!("http://{}:8080/", server.2);
        let answer = exec_until(
            &c,
            &client.0,
            &["curl", "-s", &url],
            "Hello Kubernetes bootcamp!",
        );
        assert!(
            answer.contains(&server.0),
            "answer from the wrong pod: {answer}"
        );
        let seen = peer_seen_by(&c, &server.0, &server.2, &client.0);
        // netstat prints the peer as `IP:PORT`, or `::ffff:IP:PORT` on a dual-stack socket.
        let client_ip = format!("{}:", client.2);
        let peer_is_client = seen
            .split_whitespace()
            .any(|w| w.trim_start_matches("::ffff:").starts_with(&client_ip));
        assert!(
            peer_is_client,
            "the server saw no {} (NAT?): {seen}",
            client.2
        );
    }

    // logs and exec to a pod on a remote agent go through the API server to its kubelet.
    let logs = c.ok(&["logs", &b.0]);
    assert!(logs.contains("Kubernetes Bootcamp App Started"), "{logs}");
    let host = c.ok(&["exec", &b.0, "--", "hostname"]);
    assert_eq!(host.trim(), b.0);

    c.ok(&["delete", "deployment", "web"]);
}
