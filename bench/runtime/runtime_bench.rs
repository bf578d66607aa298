//! Runtime benchmark: container create+start+wait+remove of /bin/true through the
//! CRI socket vs bare `runc run` on the same bundle; sandbox (netns + CNI) creation;
//! idle RSS of the runtime process and of a container monitor.
//!
//! Run as root: `cargo run -p skiff-runtime --example runtime_bench [iterations]`;
//! `SKIFF_BENCH_OCI=youki` (with `--features youki`) or `crun` picks the runtime
//! under test (runc by default); the baseline is always bare `runc run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use skiff_images::ImageConfig;
use skiff_runtime::{CniSettings, DirImageSource, OciRuntimeKind, RuntimeConfig};
use tonic::transport::{Channel, Endpoint, Uri};

const NET: u8 = 250;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("runtime-helper") {
        std::process::exit(skiff_runtime::helper_main(&args[2..]));
    }
    if args.get(1).map(String::as_str) == Some("serve") {
        let root = PathBuf::from(&args[2]);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio");
        rt.block_on(async move {
            let cfg = config(&root);
            if let Err(e) = skiff_runtime::serve(cfg, std::future::pending()).await {
                eprintln!("serve: {e}");
            }
        });
        return;
    }
    let iterations: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    rt.block_on(bench(iterations));
}

fn layer(root: &Path) -> PathBuf {
    let layer = root.join("layer");
    std::fs::create_dir_all(layer.join("bin")).expect("mkdir");
    std::fs::create_dir_all(layer.join("etc")).expect("mkdir");
    std::fs::copy("/bin/busybox", layer.join("bin/busybox")).expect("copy busybox");
    for a in ["sh", "true", "sleep"] {
        let _ = std::os::unix::fs::symlink("busybox", layer.join("bin").join(a));
    }
    std::fs::write(layer.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").expect("passwd");
    layer
}

fn config(root: &Path) -> RuntimeConfig {
    let images = DirImageSource::new(root);
    images.add(
        "busybox:bench",
        vec![root.join("layer")],
        ImageConfig::default(),
    );
    let exe = std::env::current_exe().expect("current_exe");
    let mut cfg = RuntimeConfig::new(root.join("runtime"), Arc::new(images), exe);
    // SKIFF_BENCH_OCI=runc|crun|youki (youki needs the `youki` feature).
    cfg.oci_runtime = match std::env::var("SKIFF_BENCH_OCI").as_deref() {
        Ok("crun") => OciRuntimeKind::Crun,
        Ok("youki") => OciRuntimeKind::Youki,
        _ => OciRuntimeKind::Runc,
    };
    cfg.socket = root.join("cri.sock");
    cfg.cni_conf = CniSettings {
        bridge: format!("skbench{NET}"),
        pod_cidr: Some(format!("10.200.{NET}.0/24")),
        network_name: format!("skbench{NET}"),
        ..Default::default()
    };
    cfg
}

async fn connect(socket: &Path) -> RuntimeServiceClient<Channel> {
    for _ in 0..500 {
        if socket.exists() {
            let p = socket.to_path_buf();
            if let Ok(ch) = Endpoint::try_from("http://[::]:1")
                .expect("endpoint")
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let p = p.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(
                            tokio::net::UnixStream::connect(p).await?,
                        ))
                    }
                }))
                .await
            {
                return RuntimeServiceClient::new(ch);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("runtime did not come up");
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// (VmRSS, RssAnon, Pss) in KiB.
fn rss_kb(pid: u32) -> (u64, u64, u64) {
    let field = |file: &str, k: &str| {
        let s = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        field("status", "VmRSS:"),
        field("status", "RssAnon:"),
        field("smaps_rollup", "Pss:"),
    )
}

/// Resident KiB per mapping of `pid` (to see where a monitor's memory is).
fn print_smaps(pid: u32) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut name = String::new();
    for line in text.lines() {
        if line.contains('-') && !line.contains(':')
            || line.split_whitespace().count() >= 5 && line.contains('-') && !line.ends_with("kB")
        {
            name = line
                .split_whitespace()
                .skip(1)
                .take(1)
                .chain(line.split_whitespace().skip(5))
                .collect::<Vec<_>>()
                .join(" ");
        } else if let Some(v) = line.strip_prefix("Rss:") {
            let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
            if kb > 0 {
                println!("  {kb:>6} KiB  {name}");
            }
        }
    }
}

/// PID of the monitor of container `id`.
fn monitor_pid(id: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains("runtime-helper monitor") && text.contains(id) {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() {
                return Some(pid);
            }
        }
    }
    None
}

/// Monitor RSS of a container that is idle for 1 s, then prints 200 lines, then
/// sleeps: before the output, right after it and once the monitor idled again.
/// Also checks that the lines reached the CRI log.
async fn monitor_after_output(
    c: &mut RuntimeServiceClient<Channel>,
    root: &Path,
) -> [(u64, u64, u64); 3] {
    let logs = root.join("logs");
    let mut config = pod("logs", 0);
    config.log_directory = logs.display().to_string();
    let sb = c
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: String::new(),
        })
        .await
        .expect("sandbox")
        .into_inner()
        .pod_sandbox_id;
    let script = "sleep 1; i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done; \
                  exec sleep 1000";
    let mut config = container(&["sh", "-c", script]);
    config.log_path = "burst.log".into();
    let id = c
        .create_container(CreateContainerRequest {
            pod_sandbox_id: sb.clone(),
            config: Some(config),
            sandbox_config: None,
        })
        .await
        .expect("create")
        .into_inner()
        .container_id;
    c.start_container(StartContainerRequest {
        container_id: id.clone(),
    })
    .await
    .expect("start");
    let t = Instant::now();
    let pid = monitor_pid(&id).expect("monitor");
    let at = |ms: u64| tokio::time::sleep_until((t + Duration::from_millis(ms)).into());
    at(500).await;
    let idle = rss_kb(pid);
    at(1300).await;
    let active = rss_kb(pid);
    at(2800).await;
    let again = rss_kb(pid);
    let log = std::fs::read_to_string(logs.join("burst.log")).unwrap_or_default();
    assert!(log.contains(" stdout F line 199\n"), "log: {log}");
    c.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: sb.clone(),
    })
    .await
    .expect("stop");
    c.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: sb })
        .await
        .expect("remove");
    [idle, active, again]
}

fn pod(name: &str, i: usize) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: format!("{name}-{i}"),
            uid: format!("bench-{name}-{i}"),
            namespace: "bench".into(),
            attempt: 0,
        }),
        hostname: format!("{name}-{i}"),
        ..Default::default()
    }
}

fn container(cmd: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "c".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: "busybox:bench".into(),
            ..Default::default()
        }),
        command: cmd.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

async fn bench(n: usize) {
    let root = PathBuf::from(format!("/tmp/skiff-rt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("root");
    layer(&root);
    let mut server = std::process::Command::new(std::env::current_exe().expect("exe"))
        .arg("serve")
        .arg(&root)
        .spawn()
        .expect("spawn runtime");
    let mut c = connect(&root.join("cri.sock")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh_rss = rss_kb(server.id());

    let sb = c
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(pod("main", 0)),
            runtime_handler: String::new(),
        })
        .await
        .expect("sandbox")
        .into_inner()
        .pod_sandbox_id;

    let (mut ours, mut bare) = (Vec::new(), Vec::new());
    let mut phases: [Vec<f64>; 4] = Default::default();
    let oci_root = root.join("bare-runc");
    for i in 0..n + 2 {
        // Through the runtime.
        let t = Instant::now();
        let id = c
            .create_container(CreateContainerRequest {
                pod_sandbox_id: sb.clone(),
                config: Some(container(&["/bin/true"])),
                sandbox_config: None,
            })
            .await
            .expect("create")
            .into_inner()
            .container_id;
        let t_create = t.elapsed();
        c.start_container(StartContainerRequest {
            container_id: id.clone(),
        })
        .await
        .expect("start");
        let t_start = t.elapsed();
        loop {
            let s = c
                .container_status(ContainerStatusRequest {
                    container_id: id.clone(),
                    verbose: false,
                })
                .await
                .expect("status")
                .into_inner()
                .status
                .expect("status");
            if s.state == ContainerState::ContainerExited as i32 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let t_wait = t.elapsed();
        c.remove_container(RemoveContainerRequest { container_id: id })
            .await
            .expect("remove");
        let ours_ms = t.elapsed().as_secs_f64() * 1000.0;
        if i >= 2 {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            phases[0].push(ms(t_create));
            phases[1].push(ms(t_start - t_create));
            phases[2].push(ms(t_wait - t_start));
            phases[3].push(ours_ms - ms(t_wait));
        }

        // Bare runc on an identical bundle (created, not started, by the runtime).
        let id = c
            .create_container(CreateContainerRequest {
                pod_sandbox_id: sb.clone(),
                config: Some(container(&["/bin/true"])),
                sandbox_config: None,
            })
            .await
            .expect("create")
            .into_inner()
            .container_id;
        // Its own bundle directory and cgroup: the runtime's `create` already holds
        // the original (a created container waits in it).
        let bundle = root.join("bare-bundle");
        std::fs::create_dir_all(&bundle).expect("bare bundle");
        let spec_path = root
            .join("runtime/containers")
            .join(&id)
            .join("config.json");
        let mut spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&spec_path).expect("spec")).expect("json");
        spec["linux"]["cgroupsPath"] = serde_json::Value::String(format!("/skiff-bench-bare/{i}"));
        std::fs::write(bundle.join("config.json"), spec.to_string()).expect("write spec");
        let t = Instant::now();
        let st = std::process::Command::new("runc")
            .arg("--root")
            .arg(&oci_root)
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(format!("bare-{i}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("runc run");
        let bare_ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(st.success(), "runc run failed");
        c.remove_container(RemoveContainerRequest { container_id: id })
            .await
            .expect("remove");
        if i >= 2 {
            ours.push(ours_ms);
            bare.push(bare_ms);
        }
    }
    let (o, b) = (median(&mut ours), median(&mut bare));
    println!("container /bin/true create+start+wait+remove: skiff {o:.1} ms, bare `runc run` {b:.1} ms, ratio {:.2} (n={n})", o / b);

    println!(
        "  phases (median ms): create {:.1}, start {:.1}, wait {:.1}, remove {:.1}",
        median(&mut phases[0]),
        median(&mut phases[1]),
        median(&mut phases[2]),
        median(&mut phases[3])
    );

    // Sandbox creation.
    let mut sbs = Vec::new();
    let mut create = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        let id = c
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(pod("s", i)),
                runtime_handler: String::new(),
            })
            .await
            .expect("sandbox")
            .into_inner()
            .pod_sandbox_id;
        create.push(t.elapsed().as_secs_f64() * 1000.0);
        sbs.push(id);
    }
    let mut remove = Vec::new();
    for id in sbs {
        let t = Instant::now();
        c.stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.clone(),
        })
        .await
        .expect("stop");
        c.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
            .await
            .expect("remove");
        remove.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "sandbox (netns + CNI loopback/bridge + infra): RunPodSandbox median {:.1} ms; Stop+Remove median {:.1} ms (n={n})",
        median(&mut create),
        median(&mut remove)
    );

    // Monitor RSS: a long-running container.
    let id = c
        .create_container(CreateContainerRequest {
            pod_sandbox_id: sb.clone(),
            config: Some(container(&["sleep", "1000"])),
            sandbox_config: None,
        })
        .await
        .expect("create")
        .into_inner()
        .container_id;
    c.start_container(StartContainerRequest {
        container_id: id.clone(),
    })
    .await
    .expect("start");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut monitor = (0, 0, 0);
    if let Some(pid) = monitor_pid(&id) {
        monitor = rss_kb(pid);
        if std::env::var_os("SKIFF_BENCH_SMAPS").is_some() {
            print_smaps(pid);
        }
        // SKIFF_BENCH_HOLD=SECS: keep the monitor up for inspection.
        if let Some(secs) = std::env::var("SKIFF_BENCH_HOLD")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            println!("monitor pid {pid}: holding {secs} s");
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
    }
    let burst = monitor_after_output(&mut c, &root).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kb(server.id());
    println!(
        "runtime RSS: fresh {} KiB (anon {} KiB, PSS {} KiB), idle after the runs {} KiB (anon {} KiB, PSS {} KiB)",
        fresh_rss.0, fresh_rss.1, fresh_rss.2, idle_rss.0, idle_rss.1, idle_rss.2
    );
    println!(
        "monitor RSS: {} KiB (anon {} KiB, PSS {} KiB)",
        monitor.0, monitor.1, monitor.2
    );
    let [idle, active, again] = burst;
    println!(
        "monitor RSS around 200 log lines: idle {} KiB, right after the output {} KiB, 1.5 s later {} KiB",
        idle.0, active.0, again.0
    );

    c.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: sb })
        .await
        .expect("remove");
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::process::Command::new("ip")
        .args(["link", "del", &format!("skbench{NET}")])
        .output();
    skiff_runtime::remove_cgroup_dirs("/skiff-bench-bare");
    let _ = std::fs::remove_dir_all(&root);
}
