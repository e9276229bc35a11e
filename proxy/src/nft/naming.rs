//! Names of the table's objects. Service, external and endpoint chain names carry a hash of
//! their content, so a name fixes what the chain holds: a changed chain is a new chain, swapped
//! in by the same transaction, and a restarted proxy knows every chain from its name alone.

use std::net::IpAddr;

use crate::model::ServicePortName;

/// The table's name (in family `ip`, and `ip6` when IPv6 services exist).
pub const TABLE: &str = "skiff-proxy";

/// The address family of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `table ip`.
    Ipv4,
    /// `table ip6`.
    Ipv6,
}

impl Family {
    /// Both families, IPv4 first.
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// The family of `ip`.
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// The table family keyword (`ip`, `ip6`).
    pub fn keyword(self) -> &'static str {
        match self {
            Family::Ipv4 => "ip",
            Family::Ipv6 => "ip6",
        }
    }

    /// The address data type (`ipv4_addr`, `ipv6_addr`).
    pub fn addr_type(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4_addr",
            Family::Ipv6 => "ipv6_addr",
        }
    }

    /// The loopback range node ports are not served on.
    pub fn loopback(self) -> &'static str {
        match self {
            Family::Ipv4 => "127.0.0.0/8",
            Family::Ipv6 => "::1",
        }
    }
}

/// FNV-1a, 64 bits: stable across builds and machines (names must survive upgrades).
fn fnv64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Eight base32 characters of the hash of `parts` (kube-proxy's name hash is as long).
pub fn hash8(parts: &[&str]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let h = fnv64(parts);
    (0..8)
        .map(|i| ALPHABET[((h >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// Keeps the characters an nftables identifier may hold; `:` of IPv6 addresses becomes `.`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '/' | '-' | '_' | '.' => c,
            _ => '.',
        })
        .collect()
}

/// Longest readable suffix kept in a name (nftables allows 255 bytes).
const READABLE_MAX: usize = 200;

fn named(prefix: &str, hash: &str, readable: &str) -> String {
    let mut readable = sanitize(readable);
    readable.truncate(READABLE_MAX);
    format!("{prefix}-{hash}-{readable}")
}

/// `ns/name/proto/port-name`, kube-proxy's readable form of a service port.
pub fn readable_port(name: &ServicePortName) -> String {
    format!(
        "{}/{}/{}/{}",
        name.namespace,
        name.name,
        name.protocol.name(),
        name.port
    )
}

/// `<port>__<ip>/<target port>`, the readable form of an endpoint of a service port.
pub fn readable_endpoint(name: &ServicePortName, ip: &IpAddr, port: u16) -> String {
    format!("{}__{ip}/{port}", readable_port(name))
}

/// A chain named `<kind>-<hash of identity and rules>-<readable>`.
pub fn content_chain(kind: &str, readable: &str, rules: &[String]) -> String {
    let mut parts: Vec<&str> = vec![kind, readable];
    parts.extend(rules.iter().map(String::as_str));
    named(kind, &hash8(&parts), readable)
}

/// The affinity set of one endpoint: named by identity only, so it (and the clients it
/// remembers) outlives changes of the chains around it.
pub fn affinity_set(readable_endpoint: &str) -> String {
    named(
        "affinity",
        &hash8(&["affinity", readable_endpoint]),
        readable_endpoint,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    #[test]
    fn chain_name_changes_with_content_and_keeps_the_readable_part() {
        let a = content_chain("service", "ns/web/tcp/http", &["r1".into()]);
        let b = content_chain("service", "ns/web/tcp/http", &["r2".into()]);
        assert_ne!(a, b);
        assert!(
            a.starts_with("service-") && a.ends_with("-ns/web/tcp/http"),
            "{a}"
        );
        assert_eq!(
            a,
            content_chain("service", "ns/web/tcp/http", &["r1".into()])
        );
    }

    #[test]
    fn ipv6_endpoint_names_hold_only_identifier_characters() {
        let name = ServicePortName {
            namespace: "ns".into(),
            name: "web".into(),
            port: String::new(),
            protocol: Protocol::Tcp,
        };
        let set = affinity_set(&readable_endpoint(&name, &"fd00::1".parse().unwrap(), 80));
        assert!(!set.contains(':'), "{set}");
        assert!(set.ends_with("ns/web/tcp/__fd00..1/80"), "{set}");
    }
}
