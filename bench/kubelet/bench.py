#!/usr/bin/python3
"""Node agent benchmarks against a running Skiff cluster (see run.sh).

  bench.py KUBECONFIG NODE SERVER_PID OCI_ROOT [AGENT_PID]

Prints: pod startup latency p50/p99 over 100 pods (image present, nodeName set, create ->
Running seen by a watch); 110 sleeping pods all Running with agent RSS and idle CPU;
`kubectl exec -- true` round trip vs the OCI runtime's own exec (runc, or skiff's youki front end) of the same container.
"""
import os
import statistics
import subprocess
import sys
import threading
import time

from kubernetes import client, config, watch

KUBECONFIG, NODE, SERVER_PID, OCI_ROOT = sys.argv[1:5]
AGENT_PID = sys.argv[5] if len(sys.argv) > 5 else SERVER_PID
IMAGE = "gcr.io/google-samples/kubernetes-bootcamp:v1"
NS = "default"

config.load_kube_config(config_file=KUBECONFIG)
api = client.CoreV1Api()


def pod(name):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "kubelet"}},
        "spec": {
            "nodeName": NODE,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": IMAGE, "command": ["sleep", "3600"]}],
        },
    }


def running_watch(names, seen):
    """Records when each pod in `names` is first seen Running."""
    w = watch.Watch()
    for ev in w.stream(api.list_namespaced_pod, NS, label_selector="bench=kubelet", timeout_seconds=600):
        p = ev["object"]
        if p.status and p.status.phase == "Running" and p.metadata.name not in seen:
            seen[p.metadata.name] = time.monotonic()
            if all(n in seen for n in names):
                w.stop()
                return


def delete_all():
    api.delete_collection_namespaced_pod(NS, label_selector="bench=kubelet", grace_period_seconds=0)
    while api.list_namespaced_pod(NS, label_selector="bench=kubelet").items:
        time.sleep(0.5)


def pctl(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def startup(n=100):
    names = [f"start-{i}" for i in range(n)]
    seen, created = {}, {}
    t = threading.Thread(target=running_watch, args=(names, seen), daemon=True)
    t.start()
    time.sleep(1)
    for name in names:
        created[name] = time.monotonic()
        api.create_namespaced_pod(NS, pod(name))
        deadline = time.monotonic() + 30
        while name not in seen and time.monotonic() < deadline:
            time.sleep(0.005)
    t.join(timeout=30)
    lat = [(seen[n] - created[n]) * 1000 for n in names if n in seen]
    print(f"pod startup (create -> Running via watch), {len(lat)}/{n} pods: "
          f"p50 {pctl(lat, 50):.0f} ms, p99 {pctl(lat, 99):.0f} ms, max {max(lat):.0f} ms")
    delete_all()


def status_kb(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_kb(pid):
    return status_kb(pid, "VmRSS")


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def density(n=110):
    names = [f"dense-{i}" for i in range(n)]
    seen = {}
    t = threading.Thread(target=running_watch, args=(names, seen), daemon=True)
    t.start()
    time.sleep(1)
    start = time.monotonic()
    for name in names:
        api.create_namespaced_pod(NS, pod(name))
    t.join(timeout=600)
    took = time.monotonic() - start
    print(f"{n} pods: {len(seen)} Running after {took:.1f} s")
    time.sleep(20)
    hz = os.sysconf("SC_CLK_TCK")
    c0, t0 = cpu_ticks(AGENT_PID), time.monotonic()
    time.sleep(60)
    c1, t1 = cpu_ticks(AGENT_PID), time.monotonic()
    print(f"  process {AGENT_PID} RSS {rss_kb(AGENT_PID) / 1024:.1f} MiB "
          f"(anon {status_kb(AGENT_PID, 'RssAnon') / 1024:.1f} MiB, file {status_kb(AGENT_PID, 'RssFile') / 1024:.1f} MiB, "
          f"PSS {pss_kb(AGENT_PID) / 1024:.1f} MiB); "
          f"idle CPU {100 * (c1 - c0) / hz / (t1 - t0):.2f} % of a core over {t1 - t0:.0f} s")
    if AGENT_PID != SERVER_PID:
        print(f"  server process {SERVER_PID} RSS {rss_kb(SERVER_PID) / 1024:.1f} MiB")
    return names[0]


def oci_exec(cid):
    """The low-level runtime's own exec of `true` in the container: the baseline."""
    kind = os.environ.get("OCI_RUNTIME", "youki")
    if kind == "youki":
        # skiff's runc-compatible front end over libcontainer (what the runtime itself runs).
        skiff = os.environ.get("SKIFF", "skiff")
        return [skiff, "runtime-helper", "youki", "--root", OCI_ROOT, "exec", cid, "true"]
    return [kind, "--root", OCI_ROOT, "exec", cid, "true"]


def exec_ratio(name, rounds=20):
    p = api.read_namespaced_pod(name, NS)
    cid = p.status.container_statuses[0].container_id.split("://", 1)[1]
    env = dict(os.environ, KUBECONFIG=KUBECONFIG)

    # Interleave the variants round by round so machine load hits them alike.
    cmds = {
        "kubectl exec -- true": ["/usr/bin/kubectl", "exec", name, "--", "true"],
        "kubectl get pod (one API call)": ["/usr/bin/kubectl", "get", "pod", name, "-o", "name"],
        "oci exec true": oci_exec(cid),
    }
    direct = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"
    if os.path.exists(direct):
        cmds["kubectl.1.33 exec -- true (no dispatcher)"] = [direct, "exec", name, "--", "true"]
    xs = {k: [] for k in cmds}
    for _ in range(rounds):
        for k, cmd in cmds.items():
            t = time.monotonic()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
            xs[k].append((time.monotonic() - t) * 1000)
    med = {k: statistics.median(v) for k, v in xs.items()}
    k, r = med["kubectl exec -- true"], med["oci exec true"]
    oci = os.environ.get("OCI_RUNTIME", "youki")
    print(f"exec round trip, median of {rounds}: kubectl exec -- true {k:.0f} ms, "
          f"{oci} exec true {r:.0f} ms, ratio {k / r:.1f}x")
    for name_, v in med.items():
        print(f"  {name_}: {v:.0f} ms")


if __name__ == "__main__":
    startup()
    first = density()
    exec_ratio(first)
    delete_all()
