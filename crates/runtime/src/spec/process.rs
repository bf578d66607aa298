//! The container's process: argv and environment by Kubernetes rules, working directory,
//! user and groups, capabilities, no_new_privs and the OOM score.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use k8s_cri::v1::{ContainerConfig, LinuxContainerSecurityContext};
use oci_spec::runtime::{
    Capability, LinuxCapabilitiesBuilder, Process, ProcessBuilder, User, UserBuilder,
};
use skiff_images::ImageConfig;

use super::user::resolve_user;
use super::{SpecError, SpecInputs};

/// The process argv per Kubernetes rules: command replaces the entrypoint (and then
/// the image cmd is dropped); args replace the image cmd.
pub(super) fn argv(
    config: &ContainerConfig,
    image: &ImageConfig,
) -> Result<Vec<String>, SpecError> {
    let mut out = if config.command.is_empty() {
        image.entrypoint.clone()
    } else {
        config.command.clone()
    };
    if !config.args.is_empty() {
        out.extend(config.args.iter().cloned());
    } else if config.command.is_empty() {
        out.extend(image.cmd.iter().cloned());
    }
    if out.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(out)
}

/// Environment: image env, overridden by the CRI envs, with PATH and HOSTNAME filled in.
pub(super) fn env(config: &ContainerConfig, image: &ImageConfig, hostname: &str) -> Vec<String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| {
        if let Some(e) = out.iter_mut().find(|(ek, _)| ek == k) {
            e.1 = v.to_string();
        } else {
            out.push((k.to_string(), v.to_string()));
        }
    };
    set(
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
    if !hostname.is_empty() {
        set("HOSTNAME", hostname);
    }
    for e in &image.env {
        let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
        set(k, v);
    }
    for kv in &config.envs {
        set(&kv.key, &kv.value);
    }
    out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The working directory: the container's, the image's, else `/`.
fn cwd(config: &ContainerConfig, image: &ImageConfig) -> PathBuf {
    [&config.working_dir, &image.working_dir]
        .into_iter()
        .find(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// uid, gid and the sorted, distinct additional groups (the user's and supplemental ones).
fn user(
    rootfs: &Path,
    sc: Option<&LinuxContainerSecurityContext>,
    image_user: &str,
) -> Result<User, SpecError> {
    let user = resolve_user(rootfs, sc, image_user).map_err(SpecError::User)?;
    let mut groups: Vec<u32> = user.additional_gids.clone();
    if let Some(s) = sc {
        groups.extend(s.supplemental_groups.iter().map(|g| *g as u32));
    }
    groups.sort_unstable();
    groups.dedup();
    Ok(UserBuilder::default()
        .uid(user.uid)
        .gid(user.gid)
        .additional_gids(groups)
        .build()?)
}

/// The `process` of the spec, holding `caps`.
pub(super) fn build(
    inp: &SpecInputs<'_>,
    sc: Option<&LinuxContainerSecurityContext>,
    caps: HashSet<Capability>,
) -> Result<Process, SpecError> {
    let cfg = inp.config;
    let res = cfg.linux.as_ref().and_then(|l| l.resources.as_ref());
    let mut process = ProcessBuilder::default()
        .terminal(cfg.tty)
        .args(argv(cfg, inp.image)?)
        .env(env(cfg, inp.image, &inp.sandbox.hostname))
        .cwd(cwd(cfg, inp.image))
        .user(user(inp.rootfs, sc, &inp.image.user)?)
        .capabilities(
            LinuxCapabilitiesBuilder::default()
                .bounding(caps.clone())
                .effective(caps.clone())
                .permitted(caps)
                // oci-spec's defaults put KILL/NET_BIND_SERVICE/AUDIT_WRITE here, which
                // fails `drop: [ALL]`; containerd leaves both empty (CVE-2022-24769).
                .inheritable(HashSet::new())
                .ambient(HashSet::new())
                .build()?,
        )
        .no_new_privileges(sc.is_some_and(|s| s.no_new_privs))
        .oom_score_adj(res.map(|r| r.oom_score_adj as i32).unwrap_or(0))
        .build()?;
    if !sc.is_some_and(|s| s.no_new_privs) {
        // Absent means false (the OCI default); an explicit `false` makes libcontainer
        // load the seccomp filter after dropping CAP_SYS_ADMIN, which then fails.
        process.set_no_new_privileges(None);
    }
    Ok(process)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_cri::v1::KeyValue;

    fn image() -> ImageConfig {
        ImageConfig {
            entrypoint: vec!["/ep".into()],
            cmd: vec!["c1".into()],
            env: vec!["A=1".into(), "PATH=/img".into()],
            ..Default::default()
        }
    }

    #[test]
    fn argv_follows_kubernetes_rules() {
        let img = image();
        let mut c = ContainerConfig::default();
        assert_eq!(argv(&c, &img).unwrap(), ["/ep", "c1"]);
        c.args = vec!["x".into()];
        assert_eq!(argv(&c, &img).unwrap(), ["/ep", "x"]);
        c.command = vec!["/cmd".into()];
        assert_eq!(argv(&c, &img).unwrap(), ["/cmd", "x"]);
        c.args.clear();
        assert_eq!(argv(&c, &img).unwrap(), ["/cmd"]);
        assert!(argv(&ContainerConfig::default(), &ImageConfig::default()).is_err());
    }

    #[test]
    fn env_overrides_image() {
        let mut c = ContainerConfig::default();
        c.envs.push(KeyValue {
            key: "A".into(),
            value: "2".into(),
        });
        let e = env(&c, &image(), "pod");
        assert!(e.contains(&"A=2".to_string()));
        assert!(e.contains(&"PATH=/img".to_string()));
        assert!(e.contains(&"HOSTNAME=pod".to_string()));
    }

    #[test]
    fn working_dir_falls_back_to_the_image_then_root() {
        let mut c = ContainerConfig::default();
        let mut img = ImageConfig::default();
        assert_eq!(cwd(&c, &img), Path::new("/"));
        img.working_dir = "/app".into();
        assert_eq!(cwd(&c, &img), Path::new("/app"));
        c.working_dir = "/work".into();
        assert_eq!(cwd(&c, &img), Path::new("/work"));
    }
}
