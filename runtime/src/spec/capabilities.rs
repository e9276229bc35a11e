//! Linux capabilities: the known set, containerd's default set, and add/drop resolution.

use std::collections::HashSet;

use oci_spec::runtime::Capability;

use super::config::SecurityConfig;
use super::error::SpecError;

/// Every capability oci-spec knows, by kernel number (index = `CAP_*` value).
const ALL: [(Capability, &str); 41] = [
    (Capability::Chown, "CHOWN"),
    (Capability::DacOverride, "DAC_OVERRIDE"),
    (Capability::DacReadSearch, "DAC_READ_SEARCH"),
    (Capability::Fowner, "FOWNER"),
    (Capability::Fsetid, "FSETID"),
    (Capability::Kill, "KILL"),
    (Capability::Setgid, "SETGID"),
    (Capability::Setuid, "SETUID"),
    (Capability::Setpcap, "SETPCAP"),
    (Capability::LinuxImmutable, "LINUX_IMMUTABLE"),
    (Capability::NetBindService, "NET_BIND_SERVICE"),
    (Capability::NetBroadcast, "NET_BROADCAST"),
    (Capability::NetAdmin, "NET_ADMIN"),
    (Capability::NetRaw, "NET_RAW"),
    (Capability::IpcLock, "IPC_LOCK"),
    (Capability::IpcOwner, "IPC_OWNER"),
    (Capability::SysModule, "SYS_MODULE"),
    (Capability::SysRawio, "SYS_RAWIO"),
    (Capability::SysChroot, "SYS_CHROOT"),
    (Capability::SysPtrace, "SYS_PTRACE"),
    (Capability::SysPacct, "SYS_PACCT"),
    (Capability::SysAdmin, "SYS_ADMIN"),
    (Capability::SysBoot, "SYS_BOOT"),
    (Capability::SysNice, "SYS_NICE"),
    (Capability::SysResource, "SYS_RESOURCE"),
    (Capability::SysTime, "SYS_TIME"),
    (Capability::SysTtyConfig, "SYS_TTY_CONFIG"),
    (Capability::Mknod, "MKNOD"),
    (Capability::Lease, "LEASE"),
    (Capability::AuditWrite, "AUDIT_WRITE"),
    (Capability::AuditControl, "AUDIT_CONTROL"),
    (Capability::Setfcap, "SETFCAP"),
    (Capability::MacOverride, "MAC_OVERRIDE"),
    (Capability::MacAdmin, "MAC_ADMIN"),
    (Capability::Syslog, "SYSLOG"),
    (Capability::WakeAlarm, "WAKE_ALARM"),
    (Capability::BlockSuspend, "BLOCK_SUSPEND"),
    (Capability::AuditRead, "AUDIT_READ"),
    (Capability::Perfmon, "PERFMON"),
    (Capability::Bpf, "BPF"),
    (Capability::CheckpointRestore, "CHECKPOINT_RESTORE"),
];

/// containerd's default capability set for unprivileged containers.
const DEFAULT: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// A set of capabilities that iterates in kernel-number order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapabilitySet {
    bits: u64,
}

impl CapabilitySet {
    /// No capabilities.
    pub const fn empty() -> Self {
        Self { bits: 0 }
    }

    /// Every capability oci-spec knows.
    pub fn all() -> Self {
        Self {
            bits: (1u64 << ALL.len()) - 1,
        }
    }

    /// containerd's default set: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID,
    /// SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE.
    pub fn default_set() -> Self {
        let mut set = Self::empty();
        for cap in DEFAULT {
            set.insert(cap);
        }
        set
    }

    /// Whether `cap` is in the set.
    pub fn contains(&self, cap: Capability) -> bool {
        self.bits & (1 << number(cap)) != 0
    }

    /// Adds `cap`.
    pub fn insert(&mut self, cap: Capability) {
        self.bits |= 1 << number(cap);
    }

    /// Removes `cap`.
    pub fn remove(&mut self, cap: Capability) {
        self.bits &= !(1 << number(cap));
    }

    /// The capabilities in kernel-number order.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        ALL.iter()
            .enumerate()
            .filter(|(i, _)| self.bits & (1 << i) != 0)
            .map(|(_, (cap, _))| *cap)
    }

    /// The set as oci-spec's unordered capability set.
    pub fn to_oci(self) -> HashSet<Capability> {
        self.iter().collect()
    }
}

fn number(cap: Capability) -> usize {
    ALL.iter()
        .position(|(c, _)| *c == cap)
        .expect("ALL lists every Capability variant")
}

/// A requested change: one capability or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    All,
    One(Capability),
}

/// Parses `NET_ADMIN`, `CAP_NET_ADMIN` (any case) or `ALL`.
fn parse(field: String, name: &str) -> Result<Change, SpecError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(Change::All);
    }
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    ALL.iter()
        .find(|(_, n)| *n == bare)
        .map(|(cap, _)| Change::One(*cap))
        .ok_or_else(|| SpecError::UnknownCapability {
            field,
            name: name.to_string(),
        })
}

/// The process's bounding, effective and permitted set, following containerd's CRI plugin:
/// privileged gets every capability; otherwise the default set, then `ALL` in add or drop,
/// then the single additions, then the single drops.
pub fn resolve(security: &SecurityConfig) -> Result<CapabilitySet, SpecError> {
    let adds = parse_all("security.capabilities.add", &security.capabilities.add)?;
    let drops = parse_all("security.capabilities.drop", &security.capabilities.drop)?;
    if security.privileged {
        return Ok(CapabilitySet::all());
    }
    let mut set = CapabilitySet::default_set();
    if adds.contains(&Change::All) {
        set = CapabilitySet::all();
    }
    if drops.contains(&Change::All) {
        set = CapabilitySet::empty();
    }
    for change in &adds {
        if let Change::One(cap) = change {
            set.insert(*cap);
        }
    }
    for change in &drops {
        if let Change::One(cap) = change {
            set.remove(*cap);
        }
    }
    Ok(set)
}

fn parse_all(field: &str, names: &[String]) -> Result<Vec<Change>, SpecError> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| parse(format!("{field}[{i}]"), name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::config::CapabilityChanges;

    fn security(add: &[&str], drop: &[&str]) -> SecurityConfig {
        SecurityConfig {
            capabilities: CapabilityChanges {
                add: add.iter().map(|s| s.to_string()).collect(),
                drop: drop.iter().map(|s| s.to_string()).collect(),
            },
            ..SecurityConfig::default()
        }
    }

    #[test]
    fn table_covers_every_capability_once() {
        let all = CapabilitySet::all();
        assert_eq!(all.iter().count(), 41);
        assert_eq!(all.to_oci().len(), 41);
    }

    #[test]
    fn default_set_has_containerds_fourteen() {
        let set = resolve(&SecurityConfig::default()).unwrap();
        assert_eq!(set, CapabilitySet::default_set());
        assert_eq!(set.iter().count(), 14);
        assert!(set.contains(Capability::NetRaw));
        assert!(!set.contains(Capability::SysAdmin));
    }

    #[test]
    fn add_and_drop_accept_bare_prefixed_and_lowercase_names() {
        let set = resolve(&security(&["net_admin", "CAP_SYS_TIME"], &["NET_RAW"])).unwrap();
        assert!(set.contains(Capability::NetAdmin));
        assert!(set.contains(Capability::SysTime));
        assert!(!set.contains(Capability::NetRaw));
    }

    #[test]
    fn drop_all_then_add_keeps_only_the_additions() {
        let set = resolve(&security(&["NET_BIND_SERVICE"], &["ALL"])).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), [Capability::NetBindService]);
    }

    #[test]
    fn add_all_then_drop_removes_from_everything() {
        let set = resolve(&security(&["ALL"], &["SYS_ADMIN"])).unwrap();
        assert_eq!(set.iter().count(), 40);
        assert!(!set.contains(Capability::SysAdmin));
    }

    #[test]
    fn unknown_capability_names_its_index() {
        let err = resolve(&security(&["CHOWN", "FLY"], &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "security.capabilities.add[1]: unknown capability \"FLY\""
        );
    }

    #[test]
    fn privileged_gets_every_capability_whatever_is_dropped() {
        let mut sec = security(&[], &["ALL"]);
        sec.privileged = true;
        assert_eq!(resolve(&sec).unwrap(), CapabilitySet::all());
    }
}
