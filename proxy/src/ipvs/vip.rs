//! Virtual IPs bound on the dummy interface `skiff-ipvs0` (so the node accepts their traffic
//! for IPVS), over rtnetlink with pipelined address changes; with a fake for unit tests.

use std::collections::BTreeSet;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as Rtnl};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// The dummy interface holding the virtual IPs.
pub const DUMMY_LINK: &str = "skiff-ipvs0";

/// Address changes sent before their ACKs are read (they must fit the receive buffer).
const CHUNK: usize = 512;

/// The interface holding virtual IPs, as the dataplane uses it.
pub trait VipLink: Send {
    /// Creates the interface if missing and sets it up.
    fn ensure(&mut self) -> io::Result<()>;
    /// The addresses bound on it (IPv6 link-local excluded).
    fn addresses(&mut self) -> io::Result<BTreeSet<IpAddr>>;
    /// Binds and unbinds addresses (host prefixes), pipelined; one outcome per address.
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
        let mut out = Vec::new();
        let mut seqs = Vec::with_capacity(msgs.len());
        for m in msgs {
            self.seq = self.seq.wrapping_add(1).max(1);
            let mut h = NetlinkHeader::default();
            h.flags = flags;
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
        let first = seqs.first().copied().unwrap_or(0);
        let mut outcomes: Vec<Option<io::Result<()>>> = seqs.iter().map(|_| None).collect();
        let mut left = seqs.len();
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
                    left -= 1;
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

fn address_message(index: u32, ip: IpAddr) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = index;
    msg.header.scope = AddressScope::Universe;
    msg.header.family = if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.header.prefix_len = if ip.is_ipv4() { 32 } else { 128 };
    if ip.is_ipv4() {
        msg.attributes.push(AddressAttribute::Local(ip));
    }
    msg.attributes.push(AddressAttribute::Address(ip));
    msg
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
        let mut msg = AddressMessage::default();
        msg.header.index = self.index;
        let seqs = self.send(vec![Rtnl::GetAddress(msg)], NLM_F_REQUEST | NLM_F_DUMP)?;
        let (inner, _) = self.collect(&seqs)?;
        Ok(inner
            .iter()
            .filter_map(|m| match m {
                Rtnl::NewAddress(a) if a.header.index == self.index => {
                    a.attributes.iter().find_map(|x| match x {
                        AddressAttribute::Address(ip) => Some(*ip),
                        _ => None,
                    })
                }
                _ => None,
            })
            // The kernel's own IPv6 link-local address is not a VIP.
            .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
            .collect())
    }

    fn change(&mut self, add: &[IpAddr], remove: &[IpAddr]) -> io::Result<Vec<io::Result<()>>> {
        let mut outcomes = Vec::with_capacity(add.len() + remove.len());
        for chunk in add.chunks(CHUNK) {
            let msgs = chunk
                .iter()
                .map(|ip| Rtnl::NewAddress(address_message(self.index, *ip)))
                .collect();
            let seqs = self.send(msgs, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)?;
            outcomes.extend(self.collect(&seqs)?.1.into_iter().map(|o| match o {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
                o => o,
            }));
        }
        for chunk in remove.chunks(CHUNK) {
            let msgs = chunk
                .iter()
                .map(|ip| Rtnl::DelAddress(address_message(self.index, *ip)))
                .collect();
            let seqs = self.send(msgs, NLM_F_REQUEST | NLM_F_ACK)?;
            outcomes.extend(self.collect(&seqs)?.1.into_iter().map(|o| match o {
                Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
                o => o,
            }));
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
