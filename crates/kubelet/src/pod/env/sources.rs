//! The ConfigMaps and Secrets an environment reads (each fetched once per
//! container), and upstream's rules and messages for missing objects and
//! keys, optional or not.

use std::collections::{BTreeMap, HashMap};

use super::EnvError;
use crate::api::PodApi;

type Cache = HashMap<String, Option<BTreeMap<String, String>>>;

/// The ConfigMaps and Secrets of one namespace, each read once.
pub struct Sources<'a> {
    api: &'a dyn PodApi,
    ns: &'a str,
    config_maps: Cache,
    secrets: Cache,
}

impl<'a> Sources<'a> {
    /// Nothing read yet.
    pub fn new(api: &'a dyn PodApi, ns: &'a str) -> Self {
        Sources {
            api,
            ns,
            config_maps: HashMap::new(),
            secrets: HashMap::new(),
        }
    }

    /// The namespace read from.
    pub fn ns(&self) -> &str {
        self.ns
    }

    /// A ConfigMap's `data`; `None` when it does not exist.
    pub async fn config_map(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EnvError> {
        config_map_data(self.api, self.ns, name, &mut self.config_maps).await
    }

    /// A Secret's `data` (and `stringData`) as text; `None` when it does not exist.
    pub async fn secret(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EnvError> {
        secret_data(self.api, self.ns, name, &mut self.secrets).await
    }
}

/// Where a `*KeyRef` points: its kind as upstream's two messages spell it.
pub struct KeySource {
    /// In "couldn't find key … in ConfigMap ns/name".
    kind: &'static str,
    /// In "configmap \"name\" not found".
    lower: &'static str,
}

impl KeySource {
    pub const CONFIG_MAP: KeySource = KeySource {
        kind: "ConfigMap",
        lower: "configmap",
    };
    pub const SECRET: KeySource = KeySource {
        kind: "Secret",
        lower: "secret",
    };
}

/// The value of `key` in a ConfigMap's or Secret's `data` (`None` when the object or key
/// is absent and the reference is optional: the variable is then left out).
pub fn key_ref_value(
    data: Option<BTreeMap<String, String>>,
    source: KeySource,
    ns: &str,
    name: &str,
    key: &str,
    optional: Option<bool>,
) -> Result<Option<String>, EnvError> {
    let optional = optional == Some(true);
    match data {
        Some(mut d) => match d.remove(key) {
            Some(v) => Ok(Some(v)),
            None if optional => Ok(None),
            None => Err(EnvError::MissingKey {
                kind: source.kind,
                ns: ns.to_string(),
                name: name.to_string(),
                key: key.to_string(),
            }),
        },
        None if optional => Ok(None),
        None => Err(EnvError::NotFound {
            kind: source.lower,
            name: name.to_string(),
        }),
    }
}

async fn config_map_data(
    api: &dyn PodApi,
    ns: &str,
    name: &str,
    cache: &mut Cache,
) -> Result<Option<BTreeMap<String, String>>, EnvError> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let cm = api
        .config_map(ns, name)
        .await
        .map_err(|e| EnvError::Api(e.to_string()))?;
    let data = cm.map(|cm| cm.data.unwrap_or_default());
    cache.insert(name.to_string(), data.clone());
    Ok(data)
}

async fn secret_data(
    api: &dyn PodApi,
    ns: &str,
    name: &str,
    cache: &mut Cache,
) -> Result<Option<BTreeMap<String, String>>, EnvError> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let s = api
        .secret(ns, name)
        .await
        .map_err(|e| EnvError::Api(e.to_string()))?;
    let data = s.map(|s| {
        let mut out: BTreeMap<String, String> = s.string_data.unwrap_or_default();
        for (k, v) in s.data.unwrap_or_default() {
            out.insert(k, String::from_utf8_lossy(&v.0).into_owned());
        }
        out
    });
    cache.insert(name.to_string(), data.clone());
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([("k".to_string(), "v".to_string())]))
    }

    #[test]
    fn key_refs_resolve_skip_when_optional_and_fail_like_upstream() {
        let get = |d, src, key: &str, opt| key_ref_value(d, src, "ns", "cfg", key, opt);
        assert_eq!(
            get(data(), KeySource::CONFIG_MAP, "k", None).ok().flatten(),
            Some("v".into())
        );
        assert!(matches!(
            get(data(), KeySource::SECRET, "x", Some(true)),
            Ok(None)
        ));
        assert!(matches!(
            get(None, KeySource::SECRET, "k", Some(true)),
            Ok(None)
        ));
        match get(data(), KeySource::CONFIG_MAP, "x", None) {
            Err(EnvError::MissingKey {
                kind,
                ns,
                name,
                key,
            }) => {
                assert_eq!(
                    (kind, ns.as_str(), name.as_str(), key.as_str()),
                    ("ConfigMap", "ns", "cfg", "x")
                );
            }
            other => panic!("{other:?}"),
        }
        match get(None, KeySource::SECRET, "k", Some(false)) {
            Err(EnvError::NotFound { kind, name }) => {
                assert_eq!((kind, name.as_str()), ("secret", "cfg"))
            }
            other => panic!("{other:?}"),
        }
    }
}
