//! Pod volumes on the node: emptyDir (tmpfs for medium Memory), hostPath with
//! type checks, configMap, secret, downwardAPI and projected (service account
//! token, kube-root-ca.crt, namespace), under `pods/<uid>/volumes`; one
//! function per volume source.

mod files;
mod host;
mod ownership;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, DownwardAPIVolumeSource, EmptyDirVolumeSource, HostPathVolumeSource,
    Pod, ProjectedVolumeSource, SecretVolumeSource, ServiceAccountTokenProjection, Volume,
    VolumeProjection,
};

use super::env::EnvContext;
use crate::api::PodApi;
use files::{config_map_files, downward, project_source, secret_files, write_dir, File};
pub use host::cleanup;
use host::{check_host_path, mkdir, mount_tmpfs};

/// Why a volume could not be set up (FailedMount).
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Setup failed; the text follows upstream's messages.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
    SetUp {
        /// Volume name.
        volume: String,
        /// What went wrong.
        message: String,
    },
}

fn fail(volume: &str, message: impl Into<String>) -> VolumeError {
    VolumeError::SetUp {
        volume: volume.into(),
        message: message.into(),
    }
}

/// A prepared volume: where it lives on the host.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Host path to bind into containers.
    pub host_path: PathBuf,
    /// Always read-only (configMap, secret, downwardAPI, projected).
    pub read_only: bool,
}

impl Prepared {
    fn writable(host_path: PathBuf) -> Self {
        Prepared {
            host_path,
            read_only: false,
        }
    }

    fn read_only(host_path: PathBuf) -> Self {
        Prepared {
            host_path,
            read_only: true,
        }
    }
}

/// File mode of a projected file without its own.
const DEFAULT_MODE: i32 = 0o644;

/// Prepare every volume of `pod` under `base` (pods/<uid>/volumes).
pub async fn prepare(
    pod: &Pod,
    base: &Path,
    api: &dyn PodApi,
    ctx: &EnvContext<'_>,
) -> Result<BTreeMap<String, Prepared>, VolumeError> {
    let spec = pod.spec.as_ref();
    let fs_group = spec
        .and_then(|s| s.security_context.as_ref())
        .and_then(|sc| sc.fs_group)
        .and_then(|g| u32::try_from(g).ok());
    let setup = Setup {
        pod,
        base,
        api,
        ctx,
        ns: pod.metadata.namespace.as_deref().unwrap_or("default"),
    };
    let mut out = BTreeMap::new();
    for v in spec.and_then(|s| s.volumes.as_deref()).unwrap_or_default() {
        let prepared = setup.volume(v).await?;
        set_permissions(v, &prepared, fs_group)?;
        out.insert(v.name.clone(), prepared);
    }
    Ok(out)
}

/// Upstream's permissions: an emptyDir world-writable, and with `fsGroup`
/// every volume but a hostPath owned by that group.
fn set_permissions(v: &Volume, p: &Prepared, fs_group: Option<u32>) -> Result<(), VolumeError> {
    let dir = p.host_path.display();
    if v.empty_dir.is_some() {
        ownership::make_world_writable(&p.host_path)
            .map_err(|e| fail(&v.name, format!("chmod {dir}: {e}")))?;
    }
    if let (Some(gid), None) = (fs_group, &v.host_path) {
        ownership::set_volume_ownership(&p.host_path, gid, p.read_only)
            .map_err(|e| fail(&v.name, format!("setting fsGroup {gid} on {dir}: {e}")))?;
    }
    Ok(())
}

fn plugin_dir(base: &Path, plugin: &str, name: &str) -> PathBuf {
    base.join(format!("kubernetes.io~{plugin}")).join(name)
}

/// What setting up a pod's volumes needs.
struct Setup<'a> {
    pod: &'a Pod,
    base: &'a Path,
    api: &'a dyn PodApi,
    ctx: &'a EnvContext<'a>,
    ns: &'a str,
}

impl Setup<'_> {
    /// Set up one volume by its source.
    async fn volume(&self, v: &Volume) -> Result<Prepared, VolumeError> {
        let name = v.name.as_str();
        if let Some(ed) = &v.empty_dir {
            self.empty_dir(name, ed)
        } else if let Some(hp) = &v.host_path {
            host_path(name, hp)
        } else if let Some(cm) = &v.config_map {
            self.config_map(name, cm).await
        } else if let Some(sec) = &v.secret {
            self.secret(name, sec).await
        } else if let Some(da) = &v.downward_api {
            self.downward_api(name, da)
        } else if let Some(pr) = &v.projected {
            self.projected(name, pr).await
        } else {
            tracing::warn!(volume = %name, "unsupported volume type; using an empty directory");
            let dir = plugin_dir(self.base, "empty-dir", name);
            mkdir(&dir, name)?;
            Ok(Prepared::writable(dir))
        }
    }

    fn empty_dir(&self, name: &str, ed: &EmptyDirVolumeSource) -> Result<Prepared, VolumeError> {
        let dir = plugin_dir(self.base, "empty-dir", name);
        mkdir(&dir, name)?;
        if ed.medium.as_deref() == Some("Memory") {
            mount_tmpfs(&dir, ed.size_limit.as_ref().map(|q| q.0.as_str()), name)?;
        }
        Ok(Prepared::writable(dir))
    }

    async fn config_map(
        &self,
        name: &str,
        cm: &ConfigMapVolumeSource,
    ) -> Result<Prepared, VolumeError> {
        let dir = plugin_dir(self.base, "configmap", name);
        let data = config_map_files(self.api, self.ns, &cm.name, name).await?;
        let items = cm.items.as_deref();
        let files = project_source(data, items, name, "configmap", &cm.name, cm.optional)?;
        write_dir(&dir, &files, cm.default_mode.unwrap_or(DEFAULT_MODE), name)?;
        Ok(Prepared::read_only(dir))
    }

    async fn secret(&self, name: &str, sec: &SecretVolumeSource) -> Result<Prepared, VolumeError> {
        let dir = plugin_dir(self.base, "secret", name);
        let sname = sec.secret_name.clone().unwrap_or_default();
        let data = secret_files(self.api, self.ns, &sname, name).await?;
        let items = sec.items.as_deref();
        let files = project_source(data, items, name, "secret", &sname, sec.optional)?;
        write_dir(&dir, &files, sec.default_mode.unwrap_or(DEFAULT_MODE), name)?;
        Ok(Prepared::read_only(dir))
    }

    fn downward_api(
        &self,
        name: &str,
        da: &DownwardAPIVolumeSource,
    ) -> Result<Prepared, VolumeError> {
        let dir = plugin_dir(self.base, "downward-api", name);
        let items = da.items.as_deref().unwrap_or_default();
        let files = downward(self.pod, items, self.ctx, name)?;
        write_dir(&dir, &files, da.default_mode.unwrap_or(DEFAULT_MODE), name)?;
        Ok(Prepared::read_only(dir))
    }

    async fn projected(
        &self,
        name: &str,
        pr: &ProjectedVolumeSource,
    ) -> Result<Prepared, VolumeError> {
        let dir = plugin_dir(self.base, "projected", name);
        let mut files = vec![];
        for src in pr.sources.iter().flatten() {
            files.extend(self.projection(name, src).await?);
        }
        write_dir(&dir, &files, pr.default_mode.unwrap_or(DEFAULT_MODE), name)?;
        Ok(Prepared::read_only(dir))
    }

    /// The files of one source of a projected volume.
    async fn projection(
        &self,
        name: &str,
        src: &VolumeProjection,
    ) -> Result<Vec<File>, VolumeError> {
        let mut files = vec![];
        if let Some(cm) = &src.config_map {
            let data = config_map_files(self.api, self.ns, &cm.name, name).await?;
            let items = cm.items.as_deref();
            files.extend(project_source(
                data,
                items,
                name,
                "configmap",
                &cm.name,
                cm.optional,
            )?);
        }
        if let Some(sec) = &src.secret {
            let data = secret_files(self.api, self.ns, &sec.name, name).await?;
            let items = sec.items.as_deref();
            files.extend(project_source(
                data,
                items,
                name,
                "secret",
                &sec.name,
                sec.optional,
            )?);
        }
        if let Some(da) = &src.downward_api {
            let items = da.items.as_deref().unwrap_or_default();
            files.extend(downward(self.pod, items, self.ctx, name)?);
        }
        if let Some(t) = &src.service_account_token {
            files.extend(self.token(name, t).await?);
        }
        Ok(files)
    }

    /// A service account token for the pod, when the API server can issue one.
    async fn token(
        &self,
        name: &str,
        t: &ServiceAccountTokenProjection,
    ) -> Result<Option<File>, VolumeError> {
        let sa = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref())
            .unwrap_or("default");
        let exp = t.expiration_seconds.unwrap_or(3607);
        match self.api.token(self.pod, sa, t.audience.clone(), exp).await {
            Ok(Some(tok)) => Ok(Some((t.path.clone(), tok.into_bytes(), None))),
            Ok(None) => {
                tracing::warn!(
                    volume = %name,
                    "the API server cannot issue service account tokens; mounting without a token"
                );
                Ok(None)
            }
            Err(e) => Err(fail(name, format!("failed to fetch token: {e}"))),
        }
    }
}

fn host_path(name: &str, hp: &HostPathVolumeSource) -> Result<Prepared, VolumeError> {
    check_host_path(&hp.path, hp.type_.as_deref().unwrap_or(""), name)?;
    Ok(Prepared::writable(PathBuf::from(&hp.path)))
}
