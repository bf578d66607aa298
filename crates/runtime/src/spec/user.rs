//! Resolves the container user (CRI runAsUser/runAsGroup/runAsUsername or the image's
//! `USER`) to numeric ids, reading names from the rootfs's /etc/passwd and /etc/group.

use std::path::Path;

use k8s_cri::v1::LinuxContainerSecurityContext;

/// Numeric identity of the container process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ResolvedUser {
    /// User id.
    pub(crate) uid: u32,
    /// Primary group id.
    pub(crate) gid: u32,
    /// Groups listing the user in /etc/group.
    pub(crate) additional_gids: Vec<u32>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
}

fn passwd(rootfs: &Path) -> Vec<PasswdEntry> {
    let text = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

fn groups(rootfs: &Path) -> Vec<(String, u32, Vec<String>)> {
    let text = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((
                f.first()?.to_string(),
                f.get(2)?.parse().ok()?,
                f.get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            ))
        })
        .collect()
}

/// Resolve the user the container runs as.
pub(crate) fn resolve_user(
    rootfs: &Path,
    sc: Option<&LinuxContainerSecurityContext>,
    image_user: &str,
) -> Result<ResolvedUser, String> {
    let users = passwd(rootfs);
    let (user_part, group_part) = match sc {
        Some(s) if s.run_as_user.is_some() => (
            s.run_as_user
                .as_ref()
                .map(|u| u.value.to_string())
                .unwrap_or_default(),
            None,
        ),
        Some(s) if !s.run_as_username.is_empty() => (s.run_as_username.clone(), None),
        _ => match image_user.split_once(':') {
            Some((u, g)) => (u.to_string(), Some(g.to_string())),
            None => (image_user.to_string(), None),
        },
    };
    let mut name = None;
    let (uid, mut gid) = if user_part.is_empty() {
        (0, 0)
    } else if let Ok(uid) = user_part.parse::<u32>() {
        let entry = users.iter().find(|e| e.uid == uid);
        name = entry.map(|e| e.name.clone());
        (uid, entry.map(|e| e.gid).unwrap_or(0))
    } else {
        let entry = users
            .iter()
            .find(|e| e.name == user_part)
            .ok_or_else(|| format!("no user {user_part:?} in the image's /etc/passwd"))?;
        name = Some(entry.name.clone());
        (entry.uid, entry.gid)
    };
    let all_groups = groups(rootfs);
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => all_groups
                .iter()
                .find(|(n, _, _)| *n == g)
                .map(|(_, id, _)| *id)
                .ok_or_else(|| format!("no group {g:?} in the image's /etc/group"))?,
        };
    }
    if let Some(g) = sc.and_then(|s| s.run_as_group.as_ref()) {
        gid = g.value as u32;
    }
    let additional_gids = match &name {
        Some(n) => all_groups
            .iter()
            .filter(|(_, id, members)| *id != gid && members.contains(n))
            .map(|(_, id, _)| *id)
            .collect(),
        None => Vec::new(),
    };
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_cri::v1::Int64Value;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nwww:x:33:34::/var/www:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nweb:x:34:\nextra:x:50:www\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn resolves_names_numbers_and_overrides() {
        let r = rootfs();
        let u = resolve_user(r.path(), None, "www").unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (33, 34, vec![50])
        );
        let u = resolve_user(r.path(), None, "1000:1001").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1001));
        let u = resolve_user(r.path(), None, "www:root").unwrap();
        assert_eq!((u.uid, u.gid), (33, 0));
        let sc = LinuxContainerSecurityContext {
            run_as_user: Some(Int64Value { value: 33 }),
            run_as_group: Some(Int64Value { value: 7 }),
            ..Default::default()
        };
        let u = resolve_user(r.path(), Some(&sc), "root").unwrap();
        assert_eq!((u.uid, u.gid), (33, 7));
        assert!(resolve_user(r.path(), None, "nobody").is_err());
        assert_eq!(resolve_user(r.path(), None, "").unwrap().uid, 0);
    }
}
