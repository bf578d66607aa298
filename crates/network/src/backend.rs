//! The `--flannel-backend` values k3s accepts, and which of them Skiff implements.

use std::fmt;
use std::str::FromStr;

/// How pod traffic crosses between nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlannelBackend {
    /// A VXLAN overlay (k3s' default). Not implemented yet: refused when asked for.
    Vxlan,
    /// Plain routes to each node's pod CIDR through its InternalIP (nodes on one L2 segment).
    HostGw,
    /// No pod network across nodes: the pods of each node only reach their own bridge
    /// (the bridge plugin masquerades everything leaving the node's pod CIDR).
    None,
}

/// A `--flannel-backend` value Skiff cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BackendError {
    /// Not one of k3s' values.
    #[error("unknown flannel backend {0:?}: use vxlan, host-gw or none")]
    Unknown(String),
    /// A k3s value Skiff does not implement yet.
    #[error("flannel backend {0:?} is not implemented yet: use host-gw (nodes on one L2 segment) or none")]
    NotImplemented(String),
}

impl FlannelBackend {
    /// The backend when it can run here, else why not.
    pub fn supported(self) -> Result<Self, BackendError> {
        match self {
            FlannelBackend::Vxlan => Err(BackendError::NotImplemented(self.to_string())),
            other => Ok(other),
        }
    }
}

impl FromStr for FlannelBackend {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "vxlan" => Ok(FlannelBackend::Vxlan),
            "host-gw" => Ok(FlannelBackend::HostGw),
            "none" => Ok(FlannelBackend::None),
            other => Err(BackendError::Unknown(other.to_string())),
        }
    }
}

impl fmt::Display for FlannelBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlannelBackend::Vxlan => "vxlan",
            FlannelBackend::HostGw => "host-gw",
            FlannelBackend::None => "none",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k3s_values_and_refuses_what_is_not_built() {
        let cases = [
            ("host-gw", Ok(FlannelBackend::HostGw)),
            ("none", Ok(FlannelBackend::None)),
            ("vxlan", Err(BackendError::NotImplemented("vxlan".into()))),
            ("wireguard", Err(BackendError::Unknown("wireguard".into()))),
            ("", Err(BackendError::Unknown(String::new()))),
        ];
        for (value, want) in cases {
            let got = value
                .parse::<FlannelBackend>()
                .and_then(FlannelBackend::supported);
            assert_eq!(got, want, "{value:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for b in [
            FlannelBackend::Vxlan,
            FlannelBackend::HostGw,
            FlannelBackend::None,
        ] {
            assert_eq!(b.to_string().parse::<FlannelBackend>(), Ok(b));
        }
    }
}
