//! The cluster CA and the certificates signed by it, kept under `<data-dir>/server/tls/`.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::path::{Path, PathBuf};

/// Why a certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a PEM file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// rcgen refused the parameters or a PEM did not parse.
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
}

/// The cluster CA plus the server's own certificates, as PEM.
pub struct Pki {
    /// CA certificate PEM.
    pub ca_cert_pem: String,
    ca_key_pem: String,
    /// Serving certificate PEM.
    pub serving_cert_pem: String,
    /// Serving key PEM.
    pub serving_key_pem: String,
    /// Client certificate for talking to kubelets.
    pub kubelet_client_cert_pem: String,
    /// Its key.
    pub kubelet_client_key_pem: String,
}

fn read(path: &Path) -> Result<Option<String>, PkiError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn write(path: &Path, data: &str, secret: bool) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(path, data).map_err(io)?;
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}

fn load_pair(dir: &Path, name: &str) -> Result<Option<(String, String)>, PkiError> {
    let cert = read(&dir.join(format!("{name}.crt")))?;
    let key = read(&dir.join(format!("{name}.key")))?;
    Ok(cert.zip(key))
}

fn save_pair(dir: &Path, name: &str, cert: &str, key: &str) -> Result<(), PkiError> {
    write(&dir.join(format!("{name}.crt")), cert, false)?;
    write(&dir.join(format!("{name}.key")), key, true)
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn san(s: &str) -> Result<SanType, PkiError> {
    Ok(match s.parse::<std::net::IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(s.to_string().try_into()?),
    })
}

impl Pki {
    /// Loads the PKI from `dir`, creating whatever is missing. The serving certificate
    /// is re-issued when `sans` asks for a name it lacks.
    pub fn load_or_create(
        dir: &Path,
        service_ip: &str,
        extra_sans: &[String],
    ) -> Result<Pki, PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (ca_cert_pem, ca_key_pem) = match load_pair(dir, "ca")? {
            Some(p) => p,
            None => {
                let key = KeyPair::generate()?;
                let mut params = CertificateParams::new(Vec::<String>::new())?;
                params
                    .distinguished_name
                    .push(DnType::CommonName, "skiff-server-ca");
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ];
                params.not_before = rcgen::date_time_ymd(2024, 1, 1);
                params.not_after = rcgen::date_time_ymd(2034, 1, 1);
                let cert = params.self_signed(&key)?;
                let pair = (cert.pem(), key.serialize_pem());
                save_pair(dir, "ca", &pair.0, &pair.1)?;
                pair
            }
        };
        let mut pki = Pki {
            ca_cert_pem,
            ca_key_pem,
            serving_cert_pem: String::new(),
            serving_key_pem: String::new(),
            kubelet_client_cert_pem: String::new(),
            kubelet_client_key_pem: String::new(),
        };
        let mut sans: Vec<String> = vec![
            "127.0.0.1".into(),
            "localhost".into(),
            "kubernetes".into(),
            "kubernetes.default".into(),
            "kubernetes.default.svc".into(),
            "kubernetes.default.svc.cluster.local".into(),
            service_ip.to_string(),
        ];
        sans.extend(hostname());
        sans.extend(extra_sans.iter().cloned());
        sans.dedup();
        let wanted = sans.join(",");
        let recorded = read(&dir.join("serving.sans"))?.unwrap_or_default();
        match load_pair(dir, "serving")? {
            Some((c, k)) if recorded == wanted => {
                pki.serving_cert_pem = c;
                pki.serving_key_pem = k;
            }
            _ => {
                let (c, k) = pki.issue("kube-apiserver", &sans, false)?;
                save_pair(dir, "serving", &c, &k)?;
                write(&dir.join("serving.sans"), &wanted, false)?;
                pki.serving_cert_pem = c;
                pki.serving_key_pem = k;
            }
        }
        let (c, k) = match load_pair(dir, "kubelet-client")? {
            Some(p) => p,
            None => {
                let p = pki.issue("kube-apiserver-kubelet-client", &[], true)?;
                save_pair(dir, "kubelet-client", &p.0, &p.1)?;
                p
            }
        };
        pki.kubelet_client_cert_pem = c;
        pki.kubelet_client_key_pem = k;
        Ok(pki)
    }

    /// Issues a certificate signed by the cluster CA: a serving certificate for
    /// `sans` (client = false) or a client certificate with CN `cn` (client = true).
    pub fn issue(
        &self,
        cn: &str,
        sans: &[String],
        client: bool,
    ) -> Result<(String, String), PkiError> {
        let ca_key = KeyPair::from_pem(&self.ca_key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.ca_cert_pem, ca_key)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.subject_alt_names = sans.iter().map(|s| san(s)).collect::<Result<_, _>>()?;
        params.distinguished_name.push(DnType::CommonName, cn);
        if cn.starts_with("system:node:") {
            params
                .distinguished_name
                .push(DnType::OrganizationName, "system:nodes");
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = if client {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        } else {
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ]
        };
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2034, 1, 1);
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Pki::load_or_create(dir.path(), "10.43.0.1", &[]).expect("create");
        let b = Pki::load_or_create(dir.path(), "10.43.0.1", &[]).expect("reload");
        assert_eq!(a.ca_cert_pem, b.ca_cert_pem);
        assert_eq!(a.serving_cert_pem, b.serving_cert_pem);
        let c =
            Pki::load_or_create(dir.path(), "10.43.0.1", &["example.org".into()]).expect("new san");
        assert_eq!(a.ca_cert_pem, c.ca_cert_pem);
        assert_ne!(a.serving_cert_pem, c.serving_cert_pem);
        assert!(dir.path().join("kubelet-client.crt").exists());
    }
}
