//! Per-attachment masquerade and mac-spoof-check rules in nftables, one transaction per change.
//!
//! Rules are keyed on the attachment (network, container id, ifname), so DEL and GC need
//! neither the container's namespace nor its addresses.

use ipnet::IpNet;

mod check;
mod fake;
mod library;
mod listing;
mod naming;
mod nftables;
mod plan;
mod rule;
mod runner;
mod script;

pub use check::compare;
pub use fake::FakeFirewall;
pub use listing::{parse_listing, Element, ElementKey, ListedRule, Listing};
pub use naming::{chain_name, network_chain_prefix, Family, TABLE};
pub use nftables::Nftables;
pub use plan::{
    base_intact, base_repairs, conflicts, gc_removal, removal_from_chains, removal_of_chain,
    Removal,
};
pub use rule::{expected_rules, Rule};
pub use runner::NftRunner;
pub use script::{add_script, base_script, removal_script};

/// One attachment of a container to a network: what host-side state is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttachmentKey {
    /// The network's `name`.
    pub network: String,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
}

impl AttachmentKey {
    /// The key of `ifname` of container `container_id` on `network`.
    pub fn new(network: &str, container_id: &str, ifname: &str) -> Self {
        Self {
            network: network.to_string(),
            container_id: container_id.to_string(),
            ifname: ifname.to_string(),
        }
    }

    /// sha256(network \0 container id \0 ifname): what host-side names of the attachment
    /// (nftables chains, the host veth) are derived from.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.network.as_bytes());
        h.update([0]);
        h.update(self.container_id.as_bytes());
        h.update([0]);
        h.update(self.ifname.as_bytes());
        h.finalize().into()
    }
}

impl std::fmt::Display for AttachmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.network, self.container_id, self.ifname)
    }
}

/// The rules one attachment needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentRules {
    /// Container addresses (with their subnet's prefix length) whose traffic leaving their
    /// subnet is masqueraded (`ipMasq`); multicast is left alone, as the reference plugin does.
    pub masquerade: Vec<IpNet>,
    /// Drop frames entering the bridge from this host-side interface with another source MAC
    /// (`macspoofchk`).
    pub macspoof: Option<MacSpoof>,
}

/// The mac-spoof check of one attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacSpoof {
    /// Host-side veth name.
    pub host_ifname: String,
    /// The only source MAC allowed from it.
    pub mac: [u8; 6],
}

/// Errors from nftables.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    /// libnftables could not be loaded.
    #[error("cannot load libnftables.so.1 (apt-get install libnftables1): {0}")]
    Library(String),
    /// A host interface name that cannot be written into an nftables script safely.
    #[error("interface name {0:?} cannot be used in an nftables rule")]
    InvalidIfname(String),
    /// libnftables printed a listing this module does not understand.
    #[error("unexpected nftables listing: {0}")]
    Listing(String),
    /// The kernel or libnftables rejected a transaction; nothing of it was applied.
    #[error("nftables transaction failed: {message}")]
    Transaction {
        /// What libnftables printed.
        message: String,
    },
    /// The rules of an attachment are not as expected (CHECK).
    #[error("nftables rules of {key} are not as expected: {problem}")]
    Mismatch {
        /// `network/container/ifname`.
        key: String,
        /// What differs.
        problem: String,
    },
}

impl From<NftError> for crate::error::CniError {
    fn from(e: NftError) -> Self {
        crate::error::CniError::new(crate::error::Code::Nftables, e.to_string())
    }
}

/// The firewall seam the bridge plugin uses: add, delete, check and garbage-collect the rules
/// of attachments. Each call is one nftables transaction (plus at most one read).
pub trait Firewall: Send + Sync {
    /// Gets ready for a change (loads libraries, opens sockets) so the change itself is quick;
    /// called while other ADD work runs.
    fn prepare(&self) -> Result<(), NftError> {
        Ok(())
    }
    /// Releases sockets now rather than at exit; closing after a deletion waits for the
    /// kernel, and this lets that wait overlap other DEL work.
    fn close(&self) {}
    /// Installs the rules of `key`, replacing any left from an earlier attempt.
    fn add(&self, key: &AttachmentKey, rules: &AttachmentRules) -> Result<(), NftError>;
    /// Removes every rule of `key`; succeeds when there is none.
    fn del(&self, key: &AttachmentKey) -> Result<(), NftError>;
    /// Verifies that exactly `rules` are installed for `key`.
    fn check(&self, key: &AttachmentKey, rules: &AttachmentRules) -> Result<(), NftError>;
    /// Removes the rules of every attachment of `network` not in `keep`.
    fn gc(&self, network: &str, keep: &[AttachmentKey]) -> Result<(), NftError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_error_names_the_package_and_maps_to_the_nftables_code() {
        let e = NftError::Library("libnftables.so.1: cannot open shared object file".into());
        assert!(
            e.to_string().contains("apt-get install libnftables1"),
            "{e}"
        );
        let cni: crate::error::CniError = e.into();
        assert_eq!(cni.code, crate::error::Code::Nftables as u32);
    }

    #[test]
    fn attachment_key_prints_as_network_container_ifname() {
        assert_eq!(AttachmentKey::new("n", "c", "eth0").to_string(), "n/c/eth0");
    }
}
