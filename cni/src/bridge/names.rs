//! Names and hardware addresses derived from configuration, so that DEL and GC can find what
//! ADD made without the container's namespace.

use super::kernel::Mac;
use crate::nft::AttachmentKey;
use sha2::{Digest, Sha256};

const VETH_PREFIX: &str = "sk";
const VETH_HEX: usize = 9;

/// The host-side veth name of an attachment: the network's prefix + 9 hex digits of the
/// attachment's digest; 15 bytes, the kernel's limit.
pub fn host_veth_name(key: &AttachmentKey) -> String {
    let hex: String = key.digest().iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{}", network_veth_prefix(&key.network), &hex[..VETH_HEX])
}

/// The name prefix shared by the host veths of one network: `sk` + 4 hex digits of its name's
/// hash, so GC of one network never touches another's veths, even on a shared bridge.
pub fn network_veth_prefix(network: &str) -> String {
    let d = Sha256::digest(network.as_bytes());
    format!("{VETH_PREFIX}{:02x}{:02x}", d[0], d[1])
}

/// Whether `name` has the form of [`host_veth_name`] for `network` (the reference plugin's
/// random names, `veth` + 8 hex digits, never do).
pub fn is_host_veth_name(network: &str, name: &str) -> bool {
    let prefix = network_veth_prefix(network);
    name.len() == prefix.len() + VETH_HEX
        && name.starts_with(&prefix)
        && name[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A stable, locally administered unicast MAC for the bridge, derived from its name, so the
/// bridge's address does not change as ports come and go.
pub fn bridge_mac(bridge: &str) -> Mac {
    let d = Sha256::digest(bridge.as_bytes());
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&d[..6]);
    mac[0] = (mac[0] & 0xfc) | 0x02;
    mac
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with `-`), case-insensitive.
pub fn parse_mac(s: &str) -> Option<Mac> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

/// Formats a MAC as results carry it: lower-case, colon-separated.
pub fn format_mac(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(network: &str, id: &str, ifname: &str) -> AttachmentKey {
        AttachmentKey {
            network: network.into(),
            container_id: id.into(),
            ifname: ifname.into(),
        }
    }

    #[test]
    fn host_veth_name_is_stable_distinct_and_fits() {
        let a = host_veth_name(&key("net", "c1", "eth0"));
        assert_eq!(a, host_veth_name(&key("net", "c1", "eth0")));
        assert_eq!(a.len(), 15);
        assert!(is_host_veth_name("net", &a), "{a}");
        assert!(!is_host_veth_name("net2", &a), "{a}");
        assert_ne!(a, host_veth_name(&key("net", "c1", "eth1")));
        assert_ne!(a, host_veth_name(&key("net2", "c1", "eth0")));
        // The separator keeps field boundaries: ("ne","tc1") differs from ("net","c1").
        assert_ne!(a, host_veth_name(&key("ne", "tc1", "eth0")));
    }

    #[test]
    fn reference_veth_names_are_not_ours() {
        assert!(!is_host_veth_name("net", "veth1a2b3c4d"));
        assert!(!is_host_veth_name("net", "vethABCDEF01234"));
        assert!(!is_host_veth_name("net", "eth0"));
    }

    #[test]
    fn bridge_mac_is_local_unicast_and_stable() {
        let m = bridge_mac("cni0");
        assert_eq!(m, bridge_mac("cni0"));
        assert_ne!(m, bridge_mac("cni1"));
        assert_eq!(m[0] & 0x01, 0, "unicast");
        assert_eq!(m[0] & 0x02, 0x02, "locally administered");
    }

    #[test]
    fn mac_round_trips() {
        let m = parse_mac("0A:58:0a:16:00:05").unwrap();
        assert_eq!(format_mac(&m), "0a:58:0a:16:00:05");
        assert_eq!(parse_mac("0a-58-0a-16-00-05"), Some(m));
        assert_eq!(parse_mac("0a:58:0a:16:00"), None);
        assert_eq!(parse_mac("0a:58:0a:16:00:zz"), None);
    }
}
