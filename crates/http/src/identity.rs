//! Who is on the other end of a connection: the client certificate's subject, as the TLS
//! handshake verified it ([`Peer`], in every request's extensions), and the user an
//! authentication step resolved ([`User`], in request and response extensions).

use std::net::SocketAddr;

/// The subject of a verified client certificate, as upstream's x509 authenticator reads it:
/// the user is the common name, the groups are the organizations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertIdentity {
    /// Subject CN (empty when absent or unreadable).
    pub common_name: String,
    /// Subject O values.
    pub organizations: Vec<String>,
}

impl CertIdentity {
    /// Reads the subject of a DER certificate (empty when it does not parse).
    pub fn from_der(der: &[u8]) -> CertIdentity {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            return CertIdentity::default();
        };
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or("")
            .to_string();
        let organizations = subject
            .iter_organization()
            .filter_map(|o| o.as_str().ok().map(str::to_string))
            .collect();
        CertIdentity {
            common_name,
            organizations,
        }
    }
}

/// The client of a connection; [`serve`](crate::serve) puts it in every request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Remote address.
    pub addr: SocketAddr,
    /// The first certificate the client presented (verified by the TLS configuration).
    pub cert: Option<CertIdentity>,
}

/// An authenticated user (upstream's `user.Info`: name and groups).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// User name, e.g. `system:admin` or `system:node:node-1`.
    pub name: String,
    /// Groups, e.g. `system:masters`, `system:authenticated`.
    pub groups: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_common_name_and_organizations() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "system:node:n1");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "system:nodes");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let id = CertIdentity::from_der(cert.der());
        assert_eq!(id.common_name, "system:node:n1");
        assert_eq!(id.organizations, vec!["system:nodes".to_string()]);
        assert_eq!(CertIdentity::from_der(b"junk"), CertIdentity::default());
    }
}
