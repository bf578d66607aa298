//! Kubeconfig loading and merging the way client-go does it: `--kubeconfig`, else every
//! file in `$KUBECONFIG` (first definition wins), else `~/.kube/config`.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Kubeconfig errors.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// Unreadable file.
    #[error("stat {0}: no such file or directory")]
    Missing(String),
    /// Undecodable file.
    #[error("error loading config file \"{0}\": {1}")]
    Parse(String, String),
    /// Writing failed.
    #[error("error writing {0}: {1}")]
    Write(String, String),
}

/// One named entry (cluster, context or user) and the file it came from.
#[derive(Debug, Clone)]
pub struct Named {
    /// Entry name.
    pub name: String,
    /// The inner object (`cluster`, `context` or `user`).
    pub body: Value,
    /// The file that defined it.
    pub file: PathBuf,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct Kubeconfig {
    /// Files in precedence order.
    pub files: Vec<PathBuf>,
    /// Clusters, sorted by name.
    pub clusters: Vec<Named>,
    /// Contexts, sorted by name.
    pub contexts: Vec<Named>,
    /// Users, sorted by name.
    pub users: Vec<Named>,
    /// current-context ("" when unset).
    pub current_context: String,
}

/// Where kubeconfig came from: explicit flag or the environment.
pub fn config_paths(explicit: Option<&str>) -> (Vec<PathBuf>, bool) {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        return (vec![PathBuf::from(p)], true);
    }
    if let Ok(env) = std::env::var("KUBECONFIG") {
        let v: Vec<PathBuf> = env
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        if !v.is_empty() {
            return (v, false);
        }
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    (vec![Path::new(&home).join(".kube").join("config")], false)
}

fn resolve_paths(body: &mut Value, dir: &Path) {
    const PATH_KEYS: &[&str] = &[
        "certificate-authority",
        "client-certificate",
        "client-key",
        "tokenFile",
    ];
    if let Value::Object(m) = body {
        for k in PATH_KEYS {
            if let Some(Value::String(p)) = m.get_mut(*k) {
                if !p.is_empty() && !p.starts_with('/') {
                    *p = dir.join(&*p).to_string_lossy().into_owned();
                }
            }
        }
    }
}

impl Kubeconfig {
    /// Loads and merges. A missing explicit file is an error; missing env files are skipped.
    pub fn load(explicit: Option<&str>) -> Result<Self, KubeconfigError> {
        let (paths, strict) = config_paths(explicit);
        let mut kc = Kubeconfig {
            files: paths.clone(),
            ..Default::default()
        };
        for path in &paths {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(_) if !strict => continue,
                Err(_) => return Err(KubeconfigError::Missing(path.display().to_string())),
            };
            if text.trim().is_empty() {
                continue;
            }
            let doc: Value = serde_yaml::from_str(&text)
                .map_err(|e| KubeconfigError::Parse(path.display().to_string(), e.to_string()))?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            for (list, inner, target) in [
                ("clusters", "cluster", &mut kc.clusters),
                ("contexts", "context", &mut kc.contexts),
                ("users", "user", &mut kc.users),
            ] {
                for item in doc
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(name) = item.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    if target.iter().any(|n| n.name == name) {
                        continue;
                    }
                    let mut body = item
                        .get(inner)
                        .cloned()
                        .unwrap_or(Value::Object(Map::new()));
                    if body.is_null() {
                        body = Value::Object(Map::new());
                    }
                    resolve_paths(&mut body, &dir);
                    target.push(Named {
                        name: name.into(),
                        body,
                        file: path.clone(),
                    });
                }
            }
            if kc.current_context.is_empty() {
                if let Some(c) = doc.get("current-context").and_then(Value::as_str) {
                    kc.current_context = c.to_string();
                }
            }
        }
        for l in [&mut kc.clusters, &mut kc.contexts, &mut kc.users] {
            l.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(kc)
    }

    /// Looks up a context by name.
    pub fn context(&self, name: &str) -> Option<&Named> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// Looks up a cluster by name.
    pub fn cluster(&self, name: &str) -> Option<&Named> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// Looks up a user by name.
    pub fn user(&self, name: &str) -> Option<&Named> {
        self.users.iter().find(|c| c.name == name)
    }

    /// The file a modification of `current-context` goes to.
    pub fn file_for_current(&self) -> PathBuf {
        for f in &self.files {
            if let Ok(t) = std::fs::read_to_string(f) {
                if let Ok(v) = serde_yaml::from_str::<Value>(&t) {
                    if v.get("current-context")
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                    {
                        return f.clone();
                    }
                }
            }
        }
        self.files
            .iter()
            .find(|f| f.exists())
            .cloned()
            .or_else(|| self.files.first().cloned())
            .unwrap_or_default()
    }
}

/// Reads one kubeconfig file as a raw document (an empty Config when absent).
pub fn read_file(path: &Path) -> Result<Value, KubeconfigError> {
    match std::fs::read_to_string(path) {
        Ok(t) if !t.trim().is_empty() => serde_yaml::from_str(&t)
            .map_err(|e| KubeconfigError::Parse(path.display().to_string(), e.to_string())),
        _ => Ok(
            serde_json::json!({"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": null, "contexts": null, "users": null, "current-context": ""}),
        ),
    }
}

/// Writes one kubeconfig file back (YAML like kubectl writes it).
pub fn write_file(path: &Path, doc: &Value) -> Result<(), KubeconfigError> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(path, crate::print::yaml::to_yaml(doc))
        .map_err(|e| KubeconfigError::Write(path.display().to_string(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_first_wins() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let _ = std::fs::write(&a, "clusters:\n- name: c\n  cluster:\n    server: https://a\n    certificate-authority: ca.crt\ncurrent-context: x\n");
        let _ = std::fs::write(&b, "clusters:\n- name: c\n  cluster:\n    server: https://b\n- name: d\n  cluster: {}\ncurrent-context: y\n");
        std::env::set_var("KUBECONFIG", format!("{}:{}", a.display(), b.display()));
        let kc = Kubeconfig::load(None).unwrap_or_default();
        assert_eq!(kc.current_context, "x");
        assert_eq!(kc.clusters.len(), 2);
        assert_eq!(
            kc.cluster("c").and_then(|c| c.body["server"].as_str()),
            Some("https://a")
        );
        let ca = kc
            .cluster("c")
            .and_then(|c| c.body["certificate-authority"].as_str())
            .unwrap_or("");
        assert!(ca.starts_with('/'));
    }
}
