//! ClusterIP and NodePort allocation for Services.

use serde_json::Value;
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// An IPv4 CIDR.
#[derive(Debug, Clone, Copy)]
pub struct Cidr {
    /// Network address.
    pub base: u32,
    /// Prefix length.
    pub bits: u8,
}

/// A malformed CIDR.
#[derive(Debug, thiserror::Error)]
#[error("invalid service CIDR {0:?}")]
pub struct CidrError(pub String);

impl Cidr {
    /// Parses `10.43.0.0/16`.
    pub fn parse(s: &str) -> Result<Cidr, CidrError> {
        let (ip, bits) = s.split_once('/').ok_or_else(|| CidrError(s.into()))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| CidrError(s.into()))?;
        let bits: u8 = bits.parse().map_err(|_| CidrError(s.into()))?;
        if !(8..=30).contains(&bits) {
            return Err(CidrError(s.into()));
        }
        let mask = u32::MAX << (32 - bits);
        Ok(Cidr {
            base: u32::from(ip) & mask,
            bits,
        })
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.bits)
    }

    /// The n-th address (1 = the `kubernetes` service).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base + n)
    }

    /// Whether `ip` is a usable address of the range.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        v > self.base && v < self.base + self.size() - 1
    }

    /// A free address not in `used`, from a pseudo-random start.
    pub fn allocate(&self, used: &HashSet<String>) -> Option<Ipv4Addr> {
        let n = self.size().saturating_sub(2);
        if n == 0 {
            return None;
        }
        let start = rand::random::<u32>() % n;
        (0..n)
            .map(|i| (start + i) % n + 1)
            .map(|off| self.nth(off))
            .find(|ip| !used.contains(&ip.to_string()))
    }
}

/// ClusterIPs and node ports used by a list of services.
pub fn used(services: &[Value]) -> (HashSet<String>, HashSet<i64>) {
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    for s in services {
        if let Some(a) = s.pointer("/spec/clusterIPs").and_then(Value::as_array) {
            ips.extend(a.iter().filter_map(|v| v.as_str().map(String::from)));
        }
        if let Some(ip) = s.pointer("/spec/clusterIP").and_then(Value::as_str) {
            ips.insert(ip.to_string());
        }
        if let Some(ps) = s.pointer("/spec/ports").and_then(Value::as_array) {
            ports.extend(
                ps.iter()
                    .filter_map(|p| p.get("nodePort").and_then(Value::as_i64)),
            );
        }
    }
    (ips, ports)
}

/// A free node port in 30000–32767.
pub fn allocate_node_port(used: &HashSet<i64>) -> Option<i64> {
    let start = i64::from(rand::random::<u16>() % 2768);
    (0..2768)
        .map(|i| 30000 + (start + i) % 2768)
        .find(|p| !used.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_in_range() {
        let c = Cidr::parse("10.43.0.0/16").expect("cidr");
        assert_eq!(c.nth(1).to_string(), "10.43.0.1");
        let mut used = HashSet::new();
        used.insert("10.43.0.1".to_string());
        let ip = c.allocate(&used).expect("ip");
        assert!(c.contains(ip));
        assert_ne!(ip.to_string(), "10.43.0.1");
        assert!(!c.contains("10.44.0.1".parse().expect("ip")));
    }
}
