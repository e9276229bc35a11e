//! Names of Skiff's nftables objects: the tables, maps and base chains, and the per-attachment
//! chain derived from the attachment key alone.

use sha2::{Digest, Sha256};

use super::AttachmentKey;

/// Name of both Skiff tables (`inet` for masquerade, `bridge` for the mac-spoof check).
pub const TABLE: &str = "skiff-cni";

/// An address family holding one Skiff table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `table inet skiff-cni`: maps `masq4`/`masq6`, chain `postrouting`.
    Inet,
    /// `table bridge skiff-cni`: map `macspoof`, chain `prerouting`.
    Bridge,
}

impl Family {
    /// Both families, in the order scripts touch them.
    pub const ALL: [Family; 2] = [Family::Inet, Family::Bridge];

    /// The keyword nft uses.
    pub fn keyword(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Bridge => "bridge",
        }
    }
}

/// The per-attachment verdict maps.
pub const MASQ4: &str = "masq4";
/// IPv6 masquerade map.
pub const MASQ6: &str = "masq6";
/// Host veth name to mac-spoof chain.
pub const MACSPOOF: &str = "macspoof";

/// Prefix shared by the chains of every attachment of `network`: `att-<8 hex>-`.
///
/// nft identifiers must start with a letter, hence the `att-` in front of the hashes.
pub fn network_chain_prefix(network: &str) -> String {
    let digest = Sha256::digest(network.as_bytes());
    format!("att-{}-", hex(&digest[..4]))
}

/// The chain of one attachment: `att-<8 hex of sha256(network)>-<16 hex of
/// sha256(network\0container\0ifname)>`, the same in both tables.
pub fn chain_name(key: &AttachmentKey) -> String {
    let digest = key.digest();
    format!(
        "{}{}",
        network_chain_prefix(&key.network),
        hex(&digest[..8])
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_name_is_network_prefix_then_attachment_hash() {
        let key = AttachmentKey::new("net1", "c1", "eth0");
        let name = chain_name(&key);
        assert!(name.starts_with(&network_chain_prefix("net1")));
        assert_eq!(name.len(), "att-".len() + 8 + 1 + 16);
        assert_ne!(name, chain_name(&AttachmentKey::new("net1", "c1", "eth1")));
        assert_ne!(
            network_chain_prefix("net1"),
            network_chain_prefix("net2"),
            "networks get distinct prefixes"
        );
    }

    #[test]
    fn fields_are_separated_so_boundaries_matter() {
        let a = chain_name(&AttachmentKey::new("n", "ab", "c"));
        let b = chain_name(&AttachmentKey::new("n", "a", "bc"));
        assert_ne!(a, b);
    }
}
