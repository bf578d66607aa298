//! Benchmark: a ~50 MB multi-layer image from a local docker-registry, three ways interleaved in
//! one run: `skopeo copy` to a local OCI directory (download + verify + write blobs),
//! `skiff_images::ImageStore::fetch` (the same work: download + verify + durable blobs) and
//! `ImageStore::pull` (download + verify + unpack, durable), with every run's time and the CPU
//! each used; then unpack throughput from local blobs and what sha256 and gunzip alone cost on
//! the same bytes.
//! Run: `cargo bench -p skiff-images --bench pull` (prints figures and the ratio).
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const LAYERS: usize = 5;
const FILES_PER_LAYER: usize = 72;
const FILE_SIZE: usize = 256 * 1024;
const RUNS: usize = 7;

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Half random (incompressible), half text: gzip shrinks each layer to ~55%.
fn layer(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut b = tar::Builder::new(Vec::new());
    for f in 0..FILES_PER_LAYER {
        let mut data = Vec::with_capacity(FILE_SIZE);
        while data.len() < FILE_SIZE / 2 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            data.extend_from_slice(&state.to_le_bytes());
        }
        while data.len() < FILE_SIZE {
            data.extend_from_slice(
                format!("line {} of file {f} in layer {seed}\n", data.len()).as_bytes(),
            );
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(
            &mut h,
            format!("layer{seed}/dir{}/file{f}", f % 4),
            &data[..],
        )
        .unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

async fn push_blob(http: &reqwest::Client, base: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha(bytes);
    let resp = http
        .post(format!("{base}/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_string();
    let loc = if loc.starts_with("http") {
        loc
    } else {
        format!("{base}{loc}")
    };
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = http
        .put(format!("{loc}{sep}digest={digest}"))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    digest
}

/// CPU time (user + system) of this process and of its waited-for children, from
/// /proc/self/stat (clock ticks of 10 ms).
fn cpu_ms() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the parenthesised command name; utime is field 14 overall.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest
        .split(' ')
        .skip(11)
        .take(4)
        .map(|x| x.parse().unwrap())
        .collect();
    ((f[0] + f[1]) * 10, (f[2] + f[3]) * 10)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let regdir = work.path().join("registry");
    let out = Command::new(root.join("tests/fixtures/registry.sh"))
        .arg("start")
        .arg(&regdir)
        .arg(port.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // Build and push the image.
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    let (mut compressed, mut uncompressed) = (0usize, 0usize);
    let mut blobs = Vec::new();
    for i in 0..LAYERS {
        let tar = layer(i as u64 + 1);
        let gz = gzip(&tar);
        compressed += gz.len();
        uncompressed += tar.len();
        diff_ids.push(sha(&tar));
        let d = push_blob(&http, &base, "bench/img", &gz).await;
        descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": gz.len()}));
        blobs.push(gz);
    }
    let config = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}))
    .unwrap();
    let cd = push_blob(&http, &base, "bench/img", &config).await;
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": descs}))
    .unwrap();
    let r = http
        .put(format!("{base}/v2/bench/img/manifests/1"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let mb = |n: usize| n as f64 / 1e6;
    println!(
        "image: {LAYERS} layers, {:.1} MB compressed, {:.1} MB uncompressed",
        mb(compressed),
        mb(uncompressed)
    );

    let reference = format!("127.0.0.1:{port}/bench/img:1");
    // Three ways, interleaved, the order rotating every run so none always goes first.
    const NAMES: [&str; 3] = ["skopeo", "fetch", "pull"];
    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut cpu = [0u64; 3];
    for run in 0..RUNS {
        for k in 0..3 {
            let which = (run + k) % 3;
            let dir = work.path().join(format!("{}-{run}", NAMES[which]));
            let c0 = cpu_ms();
            let t = Instant::now();
            match which {
                // skopeo copy to a fresh local OCI dir (download + verify + write blobs).
                0 => {
                    let st = Command::new("skopeo")
                        .args([
                            "copy",
                            "--quiet",
                            "--insecure-policy",
                            "--src-tls-verify=false",
                        ])
                        .arg(format!("docker://{reference}"))
                        .arg(format!("oci:{}:1", dir.display()))
                        .status()
                        .unwrap();
                    assert!(st.success());
                }
                // ImageStore::fetch into a fresh store (download + verify + durable blobs).
                1 => {
                    let store = skiff_images::ImageStore::open(&dir, Default::default()).unwrap();
                    store.fetch(&reference, None, None).await.unwrap();
                }
                // ImageStore::pull into a fresh store (download + verify + unpack, durable).
                _ => {
                    let store = skiff_images::ImageStore::open(&dir, Default::default()).unwrap();
                    store.pull(&reference, None, None).await.unwrap();
                }
            }
            times[which].push(t.elapsed());
            let c1 = cpu_ms();
            cpu[which] += if which == 0 { c1.1 - c0.1 } else { c1.0 - c0.0 };
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let spread = |v: &[Duration]| {
        let ms: Vec<String> = v
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
            .collect();
        ms.join(" ")
    };
    for (i, name) in NAMES.iter().enumerate() {
        println!("{name} runs (ms): {}", spread(&times[i]));
    }
    println!(
        "CPU per run (user+sys): skopeo {} ms, skiff fetch {} ms, skiff pull {} ms (the registry's own CPU not counted)",
        cpu[0] / RUNS as u64,
        cpu[1] / RUNS as u64,
        cpu[2] / RUNS as u64
    );
    let [mk, mf, mp] = times.map(median);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "skopeo copy (download+verify+write blobs):          median {:.0} ms over {RUNS} runs",
        ms(mk)
    );
    println!(
        "skiff fetch (download+verify+durable blobs):        median {:.0} ms over {RUNS} runs",
        ms(mf)
    );
    println!(
        "skiff pull  (download+verify+unpack, all durable):  median {:.0} ms over {RUNS} runs",
        ms(mp)
    );
    println!(
        "ratio fetch/skopeo: {:.2}x (same work: like with like; target <= 1.0x)",
        ms(mf) / ms(mk)
    );
    println!(
        "ratio pull/skopeo:  {:.2}x (pull also unpacks; target <= 1.0x)",
        ms(mp) / ms(mk)
    );

    // Unpack throughput from local blobs (gzip + tar + files), one layer at a time (each layer's
    // inflate runs on its own thread beside the tar reader).
    let blobdir = work.path().join("blobs");
    std::fs::create_dir_all(&blobdir).unwrap();
    let mut unpack = Duration::ZERO;
    for (i, b) in blobs.iter().enumerate() {
        let p = blobdir.join(format!("l{i}"));
        std::fs::write(&p, b).unwrap();
        let dest = work.path().join(format!("unpack-{i}"));
        std::fs::create_dir_all(&dest).unwrap();
        let t = Instant::now();
        skiff_images::unpack::unpack_layer(
            &p,
            "application/vnd.oci.image.layer.v1.tar+gzip",
            None,
            &dest,
        )
        .unwrap();
        unpack += t.elapsed();
    }
    println!(
        "unpack alone, one layer at a time: {:.0} MB/s uncompressed ({:.0} MB/s compressed), {:.0} ms for {:.1} MB",
        mb(uncompressed) / unpack.as_secs_f64(),
        mb(compressed) / unpack.as_secs_f64(),
        unpack.as_secs_f64() * 1e3,
        mb(uncompressed)
    );
    // Where unpack time goes: sha256 and inflate alone over the same bytes.
    let t = Instant::now();
    for b in &blobs {
        std::hint::black_box(Sha256::digest(b));
    }
    let sha_time = t.elapsed();
    let t = Instant::now();
    for b in &blobs {
        let mut d = flate2::read::MultiGzDecoder::new(&b[..]);
        std::io::copy(&mut d, &mut std::io::sink()).unwrap();
    }
    let inflate_time = t.elapsed();
    println!(
        "parts: sha256 {:.0} MB/s, gunzip {:.0} MB/s uncompressed ({:.0} ms for all layers)",
        mb(compressed) / sha_time.as_secs_f64(),
        mb(uncompressed) / inflate_time.as_secs_f64(),
        inflate_time.as_secs_f64() * 1e3
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}
