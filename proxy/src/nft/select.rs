//! Which service ports one sync computes in a table: every port whose fingerprint differs from
//! what the table holds ([`Changes::All`](crate::dataplane::Changes::All)), or only the ports a
//! sync names ([`Changes::Ports`](crate::dataplane::Changes::Ports)) with those that failed
//! before.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::store::{fingerprint, Programmed};
use crate::model::{ServiceModel, ServicePort, ServicePortName};

/// One port to compute: its name, its model entry (`None`: removed) and the model entry's
/// fingerprint (0 when removed).
pub type ToCompute<'m> = (Cow<'m, ServicePortName>, Option<&'m ServicePort>, u64);

/// The ports whose objects may differ from what `programmed` holds, with their fingerprints:
/// removed ports first, then new and changed ones (all on the first sync after a restart).
/// Both maps are sorted by name, so one merged walk finds them.
pub fn every_port<'m>(
    programmed: &Programmed,
    model: &'m ServiceModel,
    restarted: bool,
) -> Vec<ToCompute<'m>> {
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    let mut stored = programmed.ports.iter().peekable();
    for (name, port) in &model.ports {
        let mut old = None;
        while let Some((n, s)) = stored.peek() {
            match (*n).cmp(name) {
                Ordering::Less => removed.push((Cow::Owned((*n).clone()), None, 0)),
                Ordering::Equal => old = Some(*s),
                Ordering::Greater => break,
            }
            stored.next();
            if old.is_some() {
                break;
            }
        }
        let fp = fingerprint(port);
        if restarted || old.is_none_or(|s| s.fingerprint != fp) {
            changed.push((Cow::Borrowed(name), Some(port), fp));
        }
    }
    removed.extend(stored.map(|(gone, _)| (Cow::Owned(gone.clone()), None, 0)));
    removed.extend(changed);
    removed
}

/// [`every_port`] when only the ports of `names` may differ: looks at those alone (a name
/// missing from `model` was removed).
pub fn named_ports<'m>(
    programmed: &Programmed,
    model: &'m ServiceModel,
    names: &BTreeSet<ServicePortName>,
) -> Vec<ToCompute<'m>> {
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    for name in names {
        let stored = programmed.ports.get(name);
        match model.ports.get_key_value(name) {
            Some((name, port)) => {
                let fp = fingerprint(port);
                if stored.is_none_or(|s| s.fingerprint != fp) {
                    changed.push((Cow::Borrowed(name), Some(port), fp));
                }
            }
            None if stored.is_some() => removed.push((Cow::Owned(name.clone()), None, 0)),
            None => {}
        }
    }
    removed.extend(changed);
    removed
}

/// Whether a port of `model` (only those of `names`, when given) has a cluster IP matching
/// `wanted`.
pub fn any_port(
    model: &ServiceModel,
    names: Option<&BTreeSet<ServicePortName>>,
    wanted: impl Fn(&ServicePort) -> bool,
) -> bool {
    match names {
        None => model.ports.values().any(wanted),
        Some(names) => names.iter().filter_map(|n| model.ports.get(n)).any(wanted),
    }
}
