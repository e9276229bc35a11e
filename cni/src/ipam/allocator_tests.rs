//! Allocator tests over the in-memory store.

use super::*;
use crate::ipam::range::Range;
use crate::ipam::store::MemStore;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn who(id: &str) -> Attachment {
    Attachment {
        container_id: id.into(),
        ifname: "eth0".into(),
    }
}

fn set(subnet: &str, start: Option<&str>, end: Option<&str>) -> RangeSet {
    let mut r = Range::with_defaults(subnet.parse().unwrap());
    if let Some(s) = start {
        r.start = ip(s);
    }
    if let Some(e) = end {
        r.end = ip(e);
    }
    RangeSet { ranges: vec![r] }
}

fn addrs(leases: &[Lease]) -> Vec<String> {
    leases.iter().map(|l| l.address.to_string()).collect()
}

fn alloc(store: &mut MemStore, sets: &[RangeSet], id: &str) -> Result<Vec<Lease>, AllocError> {
    Allocator::new(store, sets).allocate(&who(id), &[])
}

#[test]
fn first_address_skips_the_gateway_and_carries_prefix_and_gateway() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    let l = alloc(&mut s, &sets, "a").unwrap();
    assert_eq!(addrs(&l), ["10.0.0.2/24"]);
    assert_eq!(l[0].gateway, ip("10.0.0.1"));
    assert_eq!(s.last[&0], ip("10.0.0.2"));
    assert_eq!(s.index[&who("a")], [ip("10.0.0.2")]);
}

#[test]
fn round_robin_continues_after_last_reserved_even_after_release() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    alloc(&mut s, &sets, "a").unwrap();
    alloc(&mut s, &sets, "b").unwrap();
    Allocator::new(&mut s, &sets).release(&who("a")).unwrap();
    let l = alloc(&mut s, &sets, "c").unwrap();
    assert_eq!(addrs(&l), ["10.0.0.4/24"]);
}

#[test]
fn wraps_to_the_start_and_skips_taken_addresses() {
    let sets = [set("10.0.0.0/24", Some("10.0.0.10"), Some("10.0.0.12"))];
    let mut s = MemStore::new();
    for id in ["a", "b", "c"] {
        alloc(&mut s, &sets, id).unwrap();
    }
    Allocator::new(&mut s, &sets).release(&who("b")).unwrap();
    // Last reserved is .12, the end: the next try wraps to .10 (taken) then .11.
    assert_eq!(addrs(&alloc(&mut s, &sets, "d").unwrap()), ["10.0.0.11/24"]);
}

#[test]
fn custom_gateway_inside_the_range_is_never_handed_out() {
    let mut sets = [set("10.0.0.0/29", None, None)];
    sets[0].ranges[0].gateway = ip("10.0.0.3");
    let mut s = MemStore::new();
    let got: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|id| addrs(&alloc(&mut s, &sets, id).unwrap())[0].clone())
        .collect();
    assert_eq!(
        got,
        [
            "10.0.0.1/29",
            "10.0.0.2/29",
            "10.0.0.4/29",
            "10.0.0.5/29",
            "10.0.0.6/29"
        ]
    );
    let e = alloc(&mut s, &sets, "f").unwrap_err();
    assert!(matches!(e, AllocError::Exhausted { set: 0, .. }), "{e}");
}

#[test]
fn exhaustion_is_code_100_naming_the_range_set() {
    let sets = [set("10.0.0.0/30", None, None)];
    let mut s = MemStore::new();
    alloc(&mut s, &sets, "a").unwrap();
    let e = CniError::from(alloc(&mut s, &sets, "b").unwrap_err());
    assert!(e.is(Code::AddressExhausted), "{e}");
    assert!(
        e.msg.contains("range set 0") && e.msg.contains("10.0.0.1-10.0.0.2"),
        "{e}"
    );
    assert_eq!(Allocator::new(&mut s, &sets).exhausted().unwrap(), [0]);
}

#[test]
fn last_reserved_outside_the_set_restarts_at_range_start() {
    let sets = [set("10.0.0.0/24", Some("10.0.0.50"), None)];
    let mut s = MemStore::new();
    s.last.insert(0, ip("192.168.0.9"));
    assert_eq!(addrs(&alloc(&mut s, &sets, "a").unwrap()), ["10.0.0.50/24"]);
}

#[test]
fn several_ranges_in_a_set_are_walked_in_order() {
    let mut sets = [set("10.0.0.0/24", Some("10.0.0.10"), Some("10.0.0.11"))];
    sets[0]
        .ranges
        .push(set("10.0.1.0/24", Some("10.0.1.10"), Some("10.0.1.10")).ranges[0].clone());
    let mut s = MemStore::new();
    let got: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|id| addrs(&alloc(&mut s, &sets, id).unwrap())[0].clone())
        .collect();
    assert_eq!(got, ["10.0.0.10/24", "10.0.0.11/24", "10.0.1.10/24"]);
}

#[test]
fn requested_ip_is_honoured_and_then_unavailable_to_others() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    let l = Allocator::new(&mut s, &sets)
        .allocate(&who("a"), &[ip("10.0.0.77")])
        .unwrap();
    assert_eq!(addrs(&l), ["10.0.0.77/24"]);
    let e = Allocator::new(&mut s, &sets)
        .allocate(&who("b"), &[ip("10.0.0.77")])
        .unwrap_err();
    let e = CniError::from(e);
    assert!(
        e.is(Code::InvalidConfig) && e.msg.contains("not available in range set 0"),
        "{e}"
    );
}

#[test]
fn requested_ip_outside_ranges_or_the_gateway_is_refused() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    let mut a = Allocator::new(&mut s, &sets);
    let e = a.allocate(&who("a"), &[ip("10.9.0.7")]).unwrap_err();
    assert!(matches!(e, AllocError::RequestedOutside { .. }), "{e}");
    let e = a.allocate(&who("a"), &[ip("10.0.0.1")]).unwrap_err();
    assert!(matches!(e, AllocError::RequestedGateway { .. }), "{e}");
    let e = a
        .allocate(&who("a"), &[ip("10.0.0.5"), ip("10.0.0.6")])
        .unwrap_err();
    assert!(matches!(e, AllocError::RequestedTwice { .. }), "{e}");
    assert!(s.records.is_empty());
}

#[test]
fn repeated_add_returns_the_same_allocation() {
    let sets = [set("10.0.0.0/24", None, None), set("fd00::/64", None, None)];
    let mut s = MemStore::new();
    let first = alloc(&mut s, &sets, "a").unwrap();
    let again = alloc(&mut s, &sets, "a").unwrap();
    assert_eq!(first, again);
    assert_eq!(s.records.len(), 2);
    // The same address requested again is fine; another one is not.
    let mut a = Allocator::new(&mut s, &sets);
    assert_eq!(a.allocate(&who("a"), &[ip("10.0.0.2")]).unwrap(), first);
    let e = a.allocate(&who("a"), &[ip("10.0.0.9")]).unwrap_err();
    assert!(matches!(e, AllocError::HeldOther { .. }), "{e}");
}

#[test]
fn dual_stack_gives_one_address_per_range_set() {
    let sets = [
        set("10.0.0.0/24", None, None),
        set("fd00:1::/64", None, None),
    ];
    let mut s = MemStore::new();
    let l = alloc(&mut s, &sets, "a").unwrap();
    assert_eq!(addrs(&l), ["10.0.0.2/24", "fd00:1::2/64"]);
    assert_eq!(l[1].gateway, ip("fd00:1::1"));
    assert_eq!(s.last[&1], ip("fd00:1::2"));
}

#[test]
fn failure_in_the_second_set_releases_the_first() {
    let sets = [
        set("10.0.0.0/24", None, None),
        set("fd00::/64", Some("fd00::2"), Some("fd00::2")),
    ];
    let mut s = MemStore::new();
    alloc(&mut s, &sets, "a").unwrap();
    let before = s.clone();
    let e = alloc(&mut s, &sets, "b").unwrap_err();
    assert!(matches!(e, AllocError::Exhausted { set: 1, .. }), "{e}");
    assert_eq!(s.records, before.records);
    assert_eq!(s.index, before.index);
}

#[test]
fn release_uses_the_index_and_spares_records_now_held_by_others() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    alloc(&mut s, &sets, "a").unwrap();
    // Someone else released a's address and gave it to b; a's index entry went stale.
    s.records
        .insert(ip("10.0.0.2"), Holder::Attachment(who("b")));
    let released = Allocator::new(&mut s, &sets).release(&who("a")).unwrap();
    assert!(released.is_empty());
    assert_eq!(s.records[&ip("10.0.0.2")], Holder::Attachment(who("b")));
    assert!(s.index.is_empty());
}

#[test]
fn release_without_index_scans_for_records_of_the_attachment() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    s.records
        .insert(ip("10.0.0.7"), Holder::Attachment(who("a")));
    s.records
        .insert(ip("10.0.0.8"), Holder::Attachment(who("b")));
    let released = Allocator::new(&mut s, &sets).release(&who("a")).unwrap();
    assert_eq!(released, [ip("10.0.0.7")]);
    assert_eq!(s.records.len(), 1);
    // Old host-local records name the container id only.
    s.records
        .insert(ip("10.0.0.9"), Holder::ContainerId("c".into()));
    assert_eq!(
        Allocator::new(&mut s, &sets).release(&who("c")).unwrap(),
        [ip("10.0.0.9")]
    );
}

#[test]
fn release_twice_and_release_of_nothing_succeed() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    alloc(&mut s, &sets, "a").unwrap();
    let mut a = Allocator::new(&mut s, &sets);
    assert_eq!(a.release(&who("a")).unwrap().len(), 1);
    assert!(a.release(&who("a")).unwrap().is_empty());
    assert!(a.release(&who("never")).unwrap().is_empty());
}

#[test]
fn held_reports_the_attachments_addresses() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    alloc(&mut s, &sets, "a").unwrap();
    let mut a = Allocator::new(&mut s, &sets);
    assert_eq!(a.held(&who("a")).unwrap(), [ip("10.0.0.2")]);
    assert!(a.held(&who("b")).unwrap().is_empty());
}

#[test]
fn gc_keeps_valid_attachments_and_removes_the_rest_with_garbage() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    for id in ["a", "b", "c"] {
        alloc(&mut s, &sets, id).unwrap();
    }
    s.records.insert(ip("10.0.0.50"), Holder::Garbage);
    s.records
        .insert(ip("10.0.0.51"), Holder::ContainerId("b".into()));
    s.records
        .insert(ip("10.0.0.52"), Holder::ContainerId("z".into()));
    s.index.insert(who("gone"), vec![ip("10.0.0.99")]);
    s.scratch = 1;
    let valid: HashSet<Attachment> = [who("b")].into_iter().collect();
    let mut released = Allocator::new(&mut s, &sets).gc(&valid).unwrap();
    released.sort();
    assert_eq!(
        released,
        [
            ip("10.0.0.2"),
            ip("10.0.0.4"),
            ip("10.0.0.50"),
            ip("10.0.0.52")
        ]
    );
    let left: Vec<IpAddr> = s.records.keys().copied().collect();
    assert_eq!(left, [ip("10.0.0.3"), ip("10.0.0.51")]);
    assert_eq!(s.index.keys().collect::<Vec<_>>(), [&who("b")]);
    assert_eq!(s.scratch, 0);
}

#[test]
fn status_reports_sets_without_free_addresses() {
    let sets = [
        set("10.0.0.0/24", None, None),
        set("10.1.0.0/30", None, None),
    ];
    let mut s = MemStore::new();
    assert!(Allocator::new(&mut s, &sets)
        .exhausted()
        .unwrap()
        .is_empty());
    alloc(&mut s, &sets, "a").unwrap();
    assert_eq!(Allocator::new(&mut s, &sets).exhausted().unwrap(), [1]);
}

#[test]
fn index_entry_without_record_from_a_killed_add_is_ignored_and_cleared() {
    let sets = [set("10.0.0.0/24", None, None)];
    let mut s = MemStore::new();
    // Killed after writing the index entry, before the record.
    s.index.insert(who("a"), vec![ip("10.0.0.2")]);
    let l = alloc(&mut s, &sets, "a").unwrap();
    assert_eq!(addrs(&l), ["10.0.0.2/24"]);
    assert_eq!(s.index[&who("a")], [ip("10.0.0.2")]);
    s.records.clear();
    assert!(Allocator::new(&mut s, &sets)
        .release(&who("a"))
        .unwrap()
        .is_empty());
    assert!(s.index.is_empty());
}
