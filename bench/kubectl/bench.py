#!/usr/bin/python3
"""Wall time of `skiff kubectl` vs the real kubectl, same machine, same run.

Usage: bench.py [--kubeconfig FILE] [--ours PATH] [--runs N]
With --kubeconfig (a live cluster): times `get pods` on both.
Always: times `create deployment --dry-run=client -o yaml` (no server needed).
Prints median/p90 per tool and the ratio ours/real (target <= 0.3 for get pods).
"""
import argparse, os, statistics, subprocess, time

p = argparse.ArgumentParser()
p.add_argument("--kubeconfig")
p.add_argument("--ours", default=os.environ.get("SKIFF_KUBECTL", "target/debug/skiff-kubectl"))
p.add_argument("--real", default="/usr/bin/kubectl")
p.add_argument("--runs", type=int, default=20)
a = p.parse_args()


def timed(cmd, env):
    samples = []
    for _ in range(a.runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def compare(name, args, kubeconfig):
    env = dict(os.environ, KUBECONFIG=kubeconfig)
    ours = a.ours.split() + args
    real = [a.real] + args
    timed(real, env)  # warm caches (discovery cache, page cache)
    rm, rp = timed(real, env)
    om, op = timed(ours, env)
    print(f"{name}: real kubectl median {rm:.1f} ms (p90 {rp:.1f}), skiff kubectl median {om:.1f} ms (p90 {op:.1f}), ratio {om / rm:.2f}")


compare("create deployment --dry-run=client -o yaml",
        ["create", "deployment", "web", "--image=nginx", "--dry-run=client", "-o", "yaml"], "/nonexistent")
if a.kubeconfig:
    compare("get pods", ["get", "pods"], a.kubeconfig)
