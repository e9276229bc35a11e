//! Virtual IPs made local by `local` routes (table `local`, dev `skiff-ipvs0`, scope host), so
//! the node accepts their traffic for IPVS: unlike addresses, adding one costs the same at any
//! count. Over rtnetlink, pipelined (errors only, one acknowledged request closing each
//! window); with a fake for unit tests.

use std::collections::BTreeSet;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as Rtnl};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// The dummy interface the virtual IPs' local routes point at.
pub const DUMMY_LINK: &str = "skiff-ipvs0";

/// The kernel's `local` routing table.
const TABLE_LOCAL: u8 = 255;

/// Route changes sent before the window's closing acknowledgement is read (their errors
/// must fit the receive buffer).
const CHUNK: usize = 2048;

/// The interface virtual IPs are made local on, as the dataplane uses it.
pub trait VipLink: Send {
    /// Creates the interface if missing and sets it up.
    fn ensure(&mut self) -> io::Result<()>;
    /// The addresses local on it (IPv6 link-local excluded).
    fn addresses(&mut self) -> io::Result<BTreeSet<IpAddr>>;
    /// Makes addresses local and stops it (host prefixes), pipelined; one outcome per address.
    fn change(&mut self, add: &[IpAddr], remove: &[IpAddr]) -> io::Result<Vec<io::Result<()>>>;
}

/// The dummy interface over rtnetlink in the calling thread's network namespace.
pub struct DummyLink {
    socket: Socket,
    seq: u32,
    index: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for DummyLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DummyLink")
            .field("index", &self.index)
            .finish()
    }
}

impl DummyLink {
    /// Opens an rtnetlink socket; the interface is created by [`VipLink::ensure`].
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        let _ = socket.set_cap_ack(true);
        super::client::force_rcvbuf(&socket);
        Ok(Self {
            socket,
            seq: 0,
            index: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    fn send(&mut self, msgs: Vec<Rtnl>, flags: u16) -> io::Result<Vec<u32>> {
        self.send_windowed(msgs, flags, flags)
    }

    /// Sends `msgs` with `flags`, the last one with `last_flags`.
    fn send_windowed(
        &mut self,
        msgs: Vec<Rtnl>,
        flags: u16,
        last_flags: u16,
    ) -> io::Result<Vec<u32>> {
        let mut out = Vec::new();
        let mut seqs = Vec::with_capacity(msgs.len());
        let n = msgs.len();
        for (i, m) in msgs.into_iter().enumerate() {
            self.seq = self.seq.wrapping_add(1).max(1);
            let mut h = NetlinkHeader::default();
            h.flags = if i + 1 == n { last_flags } else { flags };
            h.sequence_number = self.seq;
            let mut p = NetlinkMessage::new(h, NetlinkPayload::InnerMessage(m));
            p.finalize();
            let start = out.len();
            out.resize(start + p.buffer_len(), 0);
            p.serialize(&mut out[start..]);
            seqs.push(self.seq);
            if out.len() > 32 * 1024 {
                self.socket.send(&out, 0)?;
                out.clear();
            }
        }
        if !out.is_empty() {
            self.socket.send(&out, 0)?;
        }
        Ok(seqs)
    }

    /// Reads replies until every sequence number in `seqs` is answered (ACK, error or end of
    /// dump); returns the inner messages and each request's outcome.
    fn collect(&mut self, seqs: &[u32]) -> io::Result<(Vec<Rtnl>, Vec<io::Result<()>>)> {
        self.collect_until(seqs, false)
    }

    /// Reads replies until every request is answered, or with `barrier` until the last one
    /// is: requests answered by then with nothing (sent without an acknowledgement, ahead of
    /// one that was, and handled in order) succeeded.
    fn collect_until(
        &mut self,
        seqs: &[u32],
        barrier: bool,
    ) -> io::Result<(Vec<Rtnl>, Vec<io::Result<()>>)> {
        let first = seqs.first().copied().unwrap_or(0);
        let mut outcomes: Vec<Option<io::Result<()>>> = seqs.iter().map(|_| None).collect();
        let mut left = if barrier { 1 } else { seqs.len() };
        let last = seqs.len().wrapping_sub(1);
        let mut inner = Vec::new();
        while left > 0 {
            self.buf.clear();
            let len = self.socket.recv(&mut self.buf, 0)?;
            let mut rest = &self.buf[..len.min(self.buf.len())];
            while !rest.is_empty() {
                let frame = NetlinkBuffer::new_checked(rest)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let flen = frame.length() as usize;
                let msg = NetlinkMessage::<Rtnl>::deserialize(&rest[..flen])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                rest = &rest[((flen + 3) & !3).min(rest.len())..];
                let i = msg.header.sequence_number.wrapping_sub(first) as usize;
                let Some(slot) = outcomes.get_mut(i) else {
                    continue;
                };
                let outcome = match msg.payload {
                    NetlinkPayload::InnerMessage(m) => {
                        inner.push(m);
                        continue;
                    }
                    NetlinkPayload::Error(e) => match e.code {
                        None => Ok(()),
                        Some(c) => Err(io::Error::from_raw_os_error(-c.get())),
                    },
                    NetlinkPayload::Done(_) => Ok(()),
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some(outcome);
                    if !barrier || i == last {
                        left -= 1;
                    }
                }
            }
        }
        Ok((
            inner,
            outcomes.into_iter().map(|o| o.unwrap_or(Ok(()))).collect(),
        ))
    }

    fn lookup(&mut self) -> io::Result<Option<u32>> {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(DUMMY_LINK.into()));
        let seqs = self.send(vec![Rtnl::GetLink(msg)], NLM_F_REQUEST | NLM_F_ACK)?;
        let (inner, outcomes) = self.collect(&seqs)?;
        match outcomes.into_iter().next() {
            Some(Err(e)) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Some(Err(e)) => Err(e),
            _ => Ok(inner.iter().find_map(|m| match m {
                Rtnl::NewLink(l) => Some(l.header.index),
                _ => None,
            })),
        }
    }
}

fn route_message(index: u32, ip: IpAddr) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.header.destination_prefix_length = if ip.is_ipv4() { 32 } else { 128 };
    msg.header.table = TABLE_LOCAL;
    msg.header.protocol = RouteProtocol::Static;
    msg.header.scope = RouteScope::Host;
    msg.header.kind = RouteType::Local;
    msg.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(ip)));
    msg.attributes.push(RouteAttribute::Oif(index));
    msg
}

/// The destination of a host-prefix local route in table `local` through interface `index`.
fn local_destination(m: &RouteMessage, index: u32) -> Option<IpAddr> {
    let table = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table));
    if table != u32::from(TABLE_LOCAL) || m.header.kind != RouteType::Local {
        return None;
    }
    if !m
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == index))
    {
        return None;
    }
    let ip = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })?;
    let host = if ip.is_ipv4() { 32 } else { 128 };
    (m.header.destination_prefix_length == host).then_some(ip)
}

impl VipLink for DummyLink {
    fn ensure(&mut self) -> io::Result<()> {
        if self.lookup()?.is_none() {
            let mut msg = LinkMessage::default();
            msg.attributes
                .push(LinkAttribute::IfName(DUMMY_LINK.into()));
            msg.attributes
                .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                    InfoKind::Dummy,
                )]));
            let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
            let seqs = self.send(vec![Rtnl::NewLink(msg)], flags)?;
            match self.collect(&seqs)?.1.into_iter().next() {
                Some(Err(e)) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
                _ => tracing::info!(link = DUMMY_LINK, "created the virtual IP interface"),
            }
        }
        self.index = self
            .lookup()?
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
        let mut up = LinkMessage::default();
        up.header.index = self.index;
        up.header.flags = LinkFlags::Up;
        up.header.change_mask = LinkFlags::Up;
        let seqs = self.send(vec![Rtnl::SetLink(up)], NLM_F_REQUEST | NLM_F_ACK)?;
        self.collect(&seqs)?.1.into_iter().next().unwrap_or(Ok(()))
    }

    fn addresses(&mut self) -> io::Result<BTreeSet<IpAddr>> {
        // A dump of every family's routes; the kernel filters no table for it.
        let seqs = self.send(
            vec![Rtnl::GetRoute(RouteMessage::default())],
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        let (inner, _) = self.collect(&seqs)?;
        let index = self.index;
        Ok(inner
            .iter()
            .filter_map(|m| match m {
                Rtnl::NewRoute(r) => local_destination(r, index),
                _ => None,
            })
            // The kernel's own IPv6 link-local address is not a VIP.
            .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
            .collect())
    }

    fn change(&mut self, add: &[IpAddr], remove: &[IpAddr]) -> io::Result<Vec<io::Result<()>>> {
        let mut outcomes = Vec::with_capacity(add.len() + remove.len());
        let flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
        for chunk in add.chunks(CHUNK) {
            let msgs = chunk
                .iter()
                .map(|ip| Rtnl::NewRoute(route_message(self.index, *ip)))
                .collect();
            let seqs = self.send_windowed(msgs, flags, flags | NLM_F_ACK)?;
            outcomes.extend(
                self.collect_until(&seqs, true)?
                    .1
                    .into_iter()
                    .map(|o| match o {
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
                        o => o,
                    }),
            );
        }
        for chunk in remove.chunks(CHUNK) {
            let msgs = chunk
                .iter()
                .map(|ip| Rtnl::DelRoute(route_message(self.index, *ip)))
                .collect();
            let seqs = self.send_windowed(msgs, NLM_F_REQUEST, NLM_F_REQUEST | NLM_F_ACK)?;
            outcomes.extend(
                self.collect_until(&seqs, true)?
                    .1
                    .into_iter()
                    .map(|o| match o {
                        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
                        o => o,
                    }),
            );
        }
        Ok(outcomes)
    }
}

/// An in-memory interface for unit tests.
#[derive(Debug, Clone, Default)]
pub struct FakeVipLink {
    /// The bound addresses.
    pub addresses: Arc<Mutex<BTreeSet<IpAddr>>>,
}

impl VipLink for FakeVipLink {
    fn ensure(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn addresses(&mut self) -> io::Result<BTreeSet<IpAddr>> {
        Ok(self
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }
    fn change(&mut self, add: &[IpAddr], remove: &[IpAddr]) -> io::Result<Vec<io::Result<()>>> {
        let mut set = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        set.extend(add.iter().copied());
        for ip in remove {
            set.remove(ip);
        }
        Ok((0..add.len() + remove.len()).map(|_| Ok(())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_route_names_its_destination_only_in_the_local_table_through_the_link() {
        let v4: IpAddr = "10.96.0.10".parse().unwrap();
        let v6: IpAddr = "fd00::10".parse().unwrap();
        let m = route_message(7, v4);
        assert_eq!(m.header.table, 255);
        assert_eq!(m.header.kind, RouteType::Local);
        assert_eq!(m.header.scope, RouteScope::Host);
        assert_eq!(local_destination(&m, 7), Some(v4));
        assert_eq!(local_destination(&route_message(7, v6), 7), Some(v6));
        assert_eq!(local_destination(&m, 8), None);
        let mut main = route_message(7, v4);
        main.header.table = 254;
        assert_eq!(local_destination(&main, 7), None);
        let mut wide = route_message(7, v4);
        wide.header.destination_prefix_length = 24;
        assert_eq!(local_destination(&wide, 7), None);
    }
}
