//! Between the dataplane's state and the codec: changes as IPVS requests, kernel dumps as
//! programmed state. Pure.

use super::codec::{
    DestAttrs, IpvsAttr, IpvsCmd, IpvsMessage, ServiceAttrs, SvcFlags, AF_INET, AF_INET6, FWD_MASQ,
    SVC_F_PERSISTENT,
};
use super::state::{IpvsOp, RealKey, RealState, VirtualKey, VirtualSpec};
use crate::model::Protocol;

/// The IP protocol number of a model protocol.
pub fn protocol_number(p: Protocol) -> u16 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
    }
}

fn protocol_of(n: u16) -> Option<Protocol> {
    match n {
        6 => Some(Protocol::Tcp),
        17 => Some(Protocol::Udp),
        132 => Some(Protocol::Sctp),
        _ => None,
    }
}

/// The attributes naming virtual server `key`.
pub fn service_key(key: &VirtualKey) -> ServiceAttrs {
    ServiceAttrs::key(protocol_number(key.protocol), key.addr, key.port)
}

/// A full service entry (`NEW_SERVICE`/`SET_SERVICE` need scheduler, flags, timeout, netmask).
pub fn service_full(key: &VirtualKey, spec: &VirtualSpec) -> ServiceAttrs {
    let mut s = service_key(key);
    s.sched_name = Some(spec.scheduler.as_str().to_string());
    s.flags = Some(SvcFlags {
        flags: if spec.persistence.is_some() {
            SVC_F_PERSISTENT
        } else {
            0
        },
        mask: u32::MAX,
    });
    s.timeout = Some(spec.persistence.unwrap_or(0));
    s.netmask = Some(if key.addr.is_ipv4() { u32::MAX } else { 128 });
    s
}

/// A full real-server entry, forwarded by masquerading.
pub fn dest_full(real: &RealKey, weight: u32) -> DestAttrs {
    DestAttrs {
        addr: Some(real.addr),
        port: Some(real.port),
        fwd_method: Some(FWD_MASQ),
        weight: Some(weight),
        u_thresh: Some(0),
        l_thresh: Some(0),
        addr_family: Some(if real.addr.is_ipv4() {
            AF_INET
        } else {
            AF_INET6
        }),
        ..DestAttrs::default()
    }
}

/// The request carrying one change.
pub fn request(op: &IpvsOp) -> IpvsMessage {
    let (cmd, attrs) = match op {
        IpvsOp::AddService(k, spec) => (
            IpvsCmd::NewService,
            vec![IpvsAttr::Service(service_full(k, spec))],
        ),
        IpvsOp::UpdateService(k, spec) => (
            IpvsCmd::SetService,
            vec![IpvsAttr::Service(service_full(k, spec))],
        ),
        IpvsOp::DelService(k) => (IpvsCmd::DelService, vec![IpvsAttr::Service(service_key(k))]),
        IpvsOp::AddReal(k, r, w) => (
            IpvsCmd::NewDest,
            vec![
                IpvsAttr::Service(service_key(k)),
                IpvsAttr::Dest(dest_full(r, *w)),
            ],
        ),
        IpvsOp::SetWeight(k, r, w) => (
            IpvsCmd::SetDest,
            vec![
                IpvsAttr::Service(service_key(k)),
                IpvsAttr::Dest(dest_full(r, *w)),
            ],
        ),
        IpvsOp::DelReal(k, r) => {
            let dest = DestAttrs {
                addr: Some(r.addr),
                port: Some(r.port),
                addr_family: Some(if r.addr.is_ipv4() { AF_INET } else { AF_INET6 }),
                ..DestAttrs::default()
            };
            (
                IpvsCmd::DelDest,
                vec![IpvsAttr::Service(service_key(k)), IpvsAttr::Dest(dest)],
            )
        }
    };
    IpvsMessage { cmd, attrs }
}

/// A dumped service as a key and spec; `None` for firewall-mark or unknown-protocol services.
pub fn parse_service(s: &ServiceAttrs) -> Option<(VirtualKey, VirtualSpec)> {
    let key = VirtualKey {
        protocol: protocol_of(s.protocol?)?,
        addr: s.addr?,
        port: s.port?,
    };
    let persistent = s.flags.is_some_and(|f| f.flags & SVC_F_PERSISTENT != 0);
    let spec = VirtualSpec {
        scheduler: s.sched_name.as_deref().unwrap_or_default().into(),
        persistence: persistent.then(|| s.timeout.unwrap_or(0)),
    };
    Some((key, spec))
}

/// A dumped real server as a key and state.
pub fn parse_dest(d: &DestAttrs) -> Option<(RealKey, RealState)> {
    Some((
        RealKey {
            addr: d.addr?,
            port: d.port?,
        },
        RealState {
            weight: d.weight.unwrap_or(0),
            connections: d.active_conns.unwrap_or(0) + d.inact_conns.unwrap_or(0),
        },
    ))
}
