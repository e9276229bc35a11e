//! An in-memory [`Firewall`] for tests of the bridge plugin: records what is installed per
//! attachment and prints it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use super::rule::format_mac;
use super::{AttachmentKey, AttachmentRules, Firewall, NftError};

/// Installed rules by attachment, with optional injected failures.
#[derive(Debug, Default)]
pub struct FakeFirewall {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    installed: BTreeMap<(String, String, String), AttachmentRules>,
    fail_next_add: Option<String>,
}

fn tuple(key: &AttachmentKey) -> (String, String, String) {
    (
        key.network.clone(),
        key.container_id.clone(),
        key.ifname.clone(),
    )
}

impl FakeFirewall {
    /// An empty firewall.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `add` fail as a rejected transaction with `message` (installing nothing).
    pub fn fail_next_add(&self, message: &str) {
        self.lock().fail_next_add = Some(message.to_string());
    }

    /// The rules installed for `key`, if any.
    pub fn rules(&self, key: &AttachmentKey) -> Option<AttachmentRules> {
        self.lock().installed.get(&tuple(key)).cloned()
    }

    /// Every installed attachment with its rules, ordered by key.
    pub fn installed(&self) -> Vec<(AttachmentKey, AttachmentRules)> {
        self.lock()
            .installed
            .iter()
            .map(|((n, c, i), r)| (AttachmentKey::new(n, c, i), r.clone()))
            .collect()
    }

    /// One line per attachment: `net/container/ifname masq=A/len,.. macspoof=veth@mac`;
    /// empty when nothing is installed.
    pub fn state(&self) -> String {
        let mut s = String::new();
        for (key, r) in self.installed() {
            let _ = write!(s, "{key}");
            if !r.masquerade.is_empty() {
                let nets: Vec<String> = r.masquerade.iter().map(ToString::to_string).collect();
                let _ = write!(s, " masq={}", nets.join(","));
            }
            if let Some(m) = &r.macspoof {
                let _ = write!(s, " macspoof={}@{}", m.host_ifname, format_mac(&m.mac));
            }
            s.push('\n');
        }
        s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Firewall for FakeFirewall {
    fn add(&self, key: &AttachmentKey, rules: &AttachmentRules) -> Result<(), NftError> {
        let mut st = self.lock();
        if let Some(message) = st.fail_next_add.take() {
            return Err(NftError::Transaction { message });
        }
        if rules.masquerade.is_empty() && rules.macspoof.is_none() {
            return Ok(());
        }
        st.installed.insert(tuple(key), rules.clone());
        Ok(())
    }

    fn del(&self, key: &AttachmentKey) -> Result<(), NftError> {
        self.lock().installed.remove(&tuple(key));
        Ok(())
    }

    fn check(&self, key: &AttachmentKey, rules: &AttachmentRules) -> Result<(), NftError> {
        let installed = self.rules(key).unwrap_or_default();
        let mut have = installed.masquerade.clone();
        let mut want = rules.masquerade.clone();
        have.sort();
        want.sort();
        let mut problems = Vec::new();
        if have != want {
            problems.push(format!("masquerade is {have:?}, expected {want:?}"));
        }
        if installed.macspoof != rules.macspoof {
            problems.push(format!(
                "mac-spoof check is {:?}, expected {:?}",
                installed.macspoof, rules.macspoof
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(NftError::Mismatch {
                key: key.to_string(),
                problem: problems.join("; "),
            })
        }
    }

    fn gc(&self, network: &str, keep: &[AttachmentKey]) -> Result<(), NftError> {
        let keep: Vec<_> = keep.iter().map(tuple).collect();
        self.lock()
            .installed
            .retain(|k, _| k.0 != network || keep.contains(k));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::MacSpoof;
    use super::*;

    fn rules(addr: &str) -> AttachmentRules {
        AttachmentRules {
            masquerade: vec![addr.parse().unwrap()],
            macspoof: Some(MacSpoof {
                host_ifname: "veth1".into(),
                mac: [2, 0, 0, 0, 0, 1],
            }),
        }
    }

    #[test]
    fn records_adds_and_dels_and_prints_them() {
        let fw = FakeFirewall::new();
        let a = AttachmentKey::new("net", "a", "eth0");
        fw.add(&a, &rules("10.0.0.2/24")).unwrap();
        assert_eq!(
            fw.state(),
            "net/a/eth0 masq=10.0.0.2/24 macspoof=veth1@02:00:00:00:00:01\n"
        );
        fw.check(&a, &rules("10.0.0.2/24")).unwrap();
        assert!(matches!(
            fw.check(&a, &rules("10.0.0.3/24")),
            Err(NftError::Mismatch { .. })
        ));
        fw.del(&a).unwrap();
        fw.del(&a).unwrap();
        assert_eq!(fw.state(), "");
    }

    #[test]
    fn gc_removes_only_unlisted_attachments_of_the_network() {
        let fw = FakeFirewall::new();
        let keep = AttachmentKey::new("net", "keep", "eth0");
        let stale = AttachmentKey::new("net", "stale", "eth0");
        let other = AttachmentKey::new("other", "stale", "eth0");
        for k in [&keep, &stale, &other] {
            fw.add(k, &rules("10.0.0.2/24")).unwrap();
        }
        fw.gc("net", std::slice::from_ref(&keep)).unwrap();
        let left: Vec<_> = fw.installed().into_iter().map(|(k, _)| k).collect();
        assert_eq!(left, [keep, other]);
    }

    #[test]
    fn injected_failure_installs_nothing() {
        let fw = FakeFirewall::new();
        fw.fail_next_add("boom");
        let a = AttachmentKey::new("net", "a", "eth0");
        assert!(fw.add(&a, &rules("10.0.0.2/24")).is_err());
        assert_eq!(fw.state(), "");
        fw.add(&a, &rules("10.0.0.2/24")).unwrap();
        assert!(fw.rules(&a).is_some());
    }
}
