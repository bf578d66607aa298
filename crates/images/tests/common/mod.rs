//! Test fixtures: a real Debian docker-registry per test (killed by PID on drop), a builder of
//! layer tars (including hostile ones), and pushing images over the distribution API.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A docker-registry on 127.0.0.1:<port>, storage in a temp dir.
pub struct Registry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub pid: i32,
}

impl Registry {
    pub fn start(htpasswd: Option<&Path>) -> Registry {
        match htpasswd {
            Some(h) => Self::start_with(&[("REGISTRY_HTPASSWD", h)]),
            None => Self::start_with(&[]),
        }
    }

    /// Starts with extra environment for registry.sh (REGISTRY_HTPASSWD, REGISTRY_TLS_CERT/KEY).
    pub fn start_with(env: &[(&str, &Path)]) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(repo_root().join("tests/fixtures/registry.sh"));
            cmd.arg("start").arg(dir.path()).arg(port.to_string());
            for (k, v) in env {
                cmd.env(k, v);
            }
            let out = cmd.output().unwrap();
            if out.status.success() {
                let pid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                return Registry { port, dir, pid };
            }
            eprintln!(
                "registry start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!("could not start docker-registry");
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Path of a blob's data file in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = &digest[7..];
        self.dir.path().join(format!(
            "docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Builds layer tars entry by entry, with raw names so hostile entries are possible.
#[derive(Default)]
pub struct Tar {
    b: Vec<u8>,
}

impl Tar {
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(
        mut self,
        name: &str,
        kind: tar::EntryType,
        mode: u32,
        link: &str,
        data: &[u8],
    ) -> Self {
        let mut h = tar::Header::new_gnu();
        {
            let g = h.as_gnu_mut().unwrap();
            g.name[..name.len()].copy_from_slice(name.as_bytes());
            g.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_000_000);
        h.set_size(data.len() as u64);
        if kind == tar::EntryType::Char {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&h, data).unwrap();
        let mut bytes = builder.into_inner().unwrap();
        bytes.truncate(bytes.len() - 1024); // drop the end-of-archive blocks
        self.b.extend_from_slice(&bytes);
        self
    }

    pub fn file(self, name: &str, data: &str) -> Self {
        self.entry(name, tar::EntryType::Regular, 0o644, "", data.as_bytes())
    }
    pub fn exe(self, name: &str, data: &str) -> Self {
        self.entry(name, tar::EntryType::Regular, 0o755, "", data.as_bytes())
    }
    pub fn dir(self, name: &str) -> Self {
        self.entry(name, tar::EntryType::Directory, 0o755, "", b"")
    }
    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.entry(name, tar::EntryType::Symlink, 0o777, target, b"")
    }
    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.entry(name, tar::EntryType::Link, 0o644, target, b"")
    }
    pub fn chardev(self, name: &str) -> Self {
        self.entry(name, tar::EntryType::Char, 0o666, "", b"")
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.b.extend_from_slice(&[0u8; 1024]);
        self.b
    }
}

pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn zstd(b: &[u8]) -> Vec<u8> {
    zstd::encode_all(b, 3).unwrap()
}

pub const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const ZST: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A layer: (blob bytes, media type, diff_id).
pub struct Layer {
    pub blob: Vec<u8>,
    pub media_type: String,
    pub diff_id: String,
}

impl Layer {
    pub fn gz(tar: Vec<u8>) -> Layer {
        Layer {
            diff_id: sha(&tar),
            blob: gzip(&tar),
            media_type: GZ.into(),
        }
    }
    pub fn zst(tar: Vec<u8>) -> Layer {
        Layer {
            diff_id: sha(&tar),
            blob: zstd(&tar),
            media_type: ZST.into(),
        }
    }
}

pub fn config_json(layers: &[Layer], arch: &str, cmd: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "WorkingDir": "/", "ExposedPorts": {"80/tcp": {}}},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()}
    }))
    .unwrap()
}

/// Pushes to a registry over plain HTTP (optionally with basic auth).
pub struct Pusher {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Option<(String, String)>,
}

impl Pusher {
    pub fn new(reg: &Registry) -> Pusher {
        install_crypto();
        Pusher {
            base: format!("http://{}", reg.host()),
            http: reqwest::Client::new(),
            auth: None,
        }
    }

    fn req(&self, m: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(m, url);
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    pub async fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha(bytes);
        let resp = self
            .req(
                reqwest::Method::POST,
                &format!("{}/v2/{repo}/blobs/uploads/", self.base),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            202,
            "start upload: {:?}",
            resp.text().await
        );
        let loc = resp.headers()["location"].to_str().unwrap().to_string();
        let loc = if loc.starts_with("http") {
            loc
        } else {
            format!("{}{loc}", self.base)
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let resp = self
            .req(reqwest::Method::PUT, &format!("{loc}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            201,
            "finish upload: {:?}",
            resp.text().await
        );
        digest
    }

    pub async fn manifest(&self, repo: &str, tag: &str, media_type: &str, body: &[u8]) -> String {
        let resp = self
            .req(
                reqwest::Method::PUT,
                &format!("{}/v2/{repo}/manifests/{tag}", self.base),
            )
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            201,
            "put manifest: {:?}",
            resp.text().await
        );
        sha(body)
    }

    /// Pushes layers + config + manifest; returns (manifest digest, manifest bytes).
    pub async fn image_with(
        &self,
        repo: &str,
        tag: &str,
        layers: &[Layer],
        config: &[u8],
        docker: bool,
    ) -> (String, Vec<u8>) {
        let cfg_digest = self.blob(repo, config).await;
        let mut descs = Vec::new();
        for l in layers {
            let d = self.blob(repo, &l.blob).await;
            let mt = if docker {
                "application/vnd.docker.image.rootfs.diff.tar.gzip".to_string()
            } else {
                l.media_type.clone()
            };
            descs.push(serde_json::json!({"mediaType": mt, "digest": d, "size": l.blob.len()}));
        }
        let (mt, cmt) = if docker {
            (
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.container.image.v1+json",
            )
        } else {
            (OCI_MANIFEST, "application/vnd.oci.image.config.v1+json")
        };
        let m = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": mt,
            "config": {"mediaType": cmt, "digest": cfg_digest, "size": config.len()},
            "layers": descs
        }))
        .unwrap();
        let d = self.manifest(repo, tag, mt, &m).await;
        (d, m)
    }

    pub async fn image(&self, repo: &str, tag: &str, layers: &[Layer]) -> String {
        self.image_with(
            repo,
            tag,
            layers,
            &config_json(layers, "amd64", &["/bin/sh"]),
            false,
        )
        .await
        .0
    }
}

/// A store rooted in a temp dir with the given registries.yaml text.
pub fn store(yaml: &str) -> (tempfile::TempDir, skiff_images::ImageStore) {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let cfg = skiff_images::RegistriesConfig::parse(yaml).unwrap();
    let s = skiff_images::ImageStore::open(&dir.path().join("content"), cfg).unwrap();
    (dir, s)
}

/// Entries (relative) under a directory, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    walk(base, &p, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
