//! Set elements of the masquerade table written over nfnetlink directly: the few element
//! changes of a sync go to the kernel as one batch (one transaction), without libnftables
//! parsing a script and reading the ruleset first. Encoding is pure; [`ElementSocket`] sends.

use std::io;
use std::net::IpAddr;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use super::state::VirtualKey;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_DATA_VALUE: u16 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const NLA_F_NESTED: u16 = 0x8000;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
/// The send buffer asked for: a batch of every element of 10k services is about 0.5 MiB.
const SOCKET_SNDBUF: libc::c_int = 16 * 1024 * 1024;
const NFT_MSG_GETTABLE: u16 = 1;
const NFTA_TABLE_NAME: u16 = 1;
/// Elements per message, so one message stays far below the kernel's limits.
const ELEMENTS_PER_MESSAGE: usize = 1024;

/// The address family of a masquerade table: `ip` or `ip6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IpFamily {
    /// Table `ip skiff-ipvs`.
    V4,
    /// Table `ip6 skiff-ipvs`.
    V6,
}

impl IpFamily {
    /// The family of `ip`.
    pub fn of(ip: &IpAddr) -> Self {
        if ip.is_ipv4() {
            IpFamily::V4
        } else {
            IpFamily::V6
        }
    }

    /// The nftables keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            IpFamily::V4 => "ip",
            IpFamily::V6 => "ip6",
        }
    }

    fn nfproto(self) -> u8 {
        match self {
            IpFamily::V4 => NFPROTO_IPV4,
            IpFamily::V6 => NFPROTO_IPV6,
        }
    }
}

/// One element of a masquerade set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Element {
    /// `address . protocol . port` of a virtual server (`cluster-vips`, `external-vips`).
    Vip(VirtualKey),
    /// `address . address` of an endpoint (`hairpin`).
    Hairpin(IpAddr),
}

impl Element {
    /// The key as the kernel stores it: each field of a concatenation in 32-bit registers,
    /// in network byte order.
    pub fn key(&self) -> Vec<u8> {
        fn octets(ip: &IpAddr) -> Vec<u8> {
            match ip {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            }
        }
        match self {
            Element::Vip(k) => {
                let mut key = octets(&k.addr);
                key.extend([super::wire::protocol_number(k.protocol) as u8, 0, 0, 0]);
                key.extend(k.port.to_be_bytes());
                key.extend([0, 0]);
                key
            }
            Element::Hairpin(ip) => [octets(ip), octets(ip)].concat(),
        }
    }
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Element::Vip(k) => write!(f, "{} . {} . {}", k.addr, k.protocol.name(), k.port),
            Element::Hairpin(ip) => write!(f, "{ip} . {ip}"),
        }
    }
}

/// Elements added to or deleted from one set (of one family's table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetChange {
    /// The table's family; the elements are of it.
    pub family: IpFamily,
    /// The set's name.
    pub set: &'static str,
    /// Added (true) or deleted.
    pub add: bool,
    /// The elements.
    pub elements: Vec<Element>,
}

impl SetChange {
    /// The change as an nftables command (for logs and fakes).
    pub fn to_command(&self, table: &str) -> String {
        let verb = if self.add { "add" } else { "delete" };
        let list: Vec<String> = self.elements.iter().map(|e| e.to_string()).collect();
        format!(
            "{verb} element {} {table} {} {{ {} }}\n",
            self.family.keyword(),
            self.set,
            list.join(", ")
        )
    }
}

fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    out.extend(((4 + payload.len()) as u16).to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(payload);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// Runs `body`, which appends attributes, inside a nested attribute of `kind`.
fn nested(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend([0; 4]);
    body(out);
    let len = (out.len() - start) as u16;
    out[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    out[start + 2..start + 4].copy_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
}

fn cstring(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Appends one netlink message with an nfgenmsg header; `body` appends its attributes.
fn message(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    body: impl FnOnce(&mut Vec<u8>),
) {
    let start = out.len();
    out.extend([0; 4]);
    out.extend(kind.to_ne_bytes());
    out.extend(flags.to_ne_bytes());
    out.extend(seq.to_ne_bytes());
    out.extend(0u32.to_ne_bytes());
    out.extend([family, 0]);
    out.extend(res_id.to_be_bytes());
    body(out);
    let len = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// The batch applying `changes` to sets of tables `ip <table>` and `ip6 <table>` as one
/// transaction, with sequence numbers from `seq`; returns the bytes and how many messages ask
/// for an answer.
pub fn batch(table: &str, changes: &[SetChange], seq: u32) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut seq = seq;
    let mut next = || {
        seq = seq.wrapping_add(1);
        seq
    };
    let subsys = NFNL_SUBSYS_NFTABLES;
    message(
        &mut out,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        next(),
        0,
        subsys,
        |_| {},
    );
    let mut acked = 0;
    for change in changes {
        let keys: Vec<Vec<u8>> = change.elements.iter().map(Element::key).collect();
        for chunk in keys.chunks(ELEMENTS_PER_MESSAGE) {
            let (kind, flags) = if change.add {
                (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
            } else {
                (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK)
            };
            message(
                &mut out,
                subsys << 8 | kind,
                flags,
                next(),
                change.family.nfproto(),
                0,
                |out| {
                    attr(out, NFTA_SET_ELEM_LIST_TABLE, &cstring(table));
                    attr(out, NFTA_SET_ELEM_LIST_SET, &cstring(change.set));
                    nested(out, NFTA_SET_ELEM_LIST_ELEMENTS, |out| {
                        for key in chunk {
                            nested(out, NFTA_LIST_ELEM, |out| {
                                nested(out, NFTA_SET_ELEM_KEY, |out| {
                                    attr(out, NFTA_DATA_VALUE, key)
                                })
                            });
                        }
                    });
                },
            );
            acked += 1;
        }
    }
    message(
        &mut out,
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        next(),
        0,
        subsys,
        |_| {},
    );
    (out, acked)
}

/// Why a batch of element changes failed.
#[derive(Debug, thiserror::Error)]
pub enum ElementsError {
    /// The socket failed.
    #[error("nfnetlink socket: {operation}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The kernel refused the transaction (nothing of it was applied).
    #[error("nf_tables refused the element changes")]
    Refused(#[source] io::Error),
}

/// An nfnetlink socket in the network namespace of the thread that opened it.
pub struct ElementSocket {
    socket: Socket,
    seq: u32,
    recv_buf: Vec<u8>,
}

impl ElementSocket {
    /// Opens and binds the socket.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        // Errors without the refused request echoed, and room for every answer of a batch.
        let _ = socket.set_cap_ack(true);
        super::client::force_rcvbuf(&socket);
        // A batch is one datagram: a full table's elements need more than `wmem_max`.
        super::client::force_buffer(
            &socket,
            libc::SO_SNDBUFFORCE,
            libc::SO_SNDBUF,
            SOCKET_SNDBUF,
        );
        Ok(Self {
            socket,
            seq: 0,
            recv_buf: vec![0; 64 * 1024],
        })
    }

    /// Whether table `ip <table>` exists.
    pub fn table_exists(&mut self, table: &str) -> Result<bool, ElementsError> {
        let io = |operation| move |source| ElementsError::Io { operation, source };
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut bytes = Vec::new();
        message(
            &mut bytes,
            NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            NFPROTO_IPV4,
            0,
            |out| attr(out, NFTA_TABLE_NAME, &cstring(table)),
        );
        self.socket.send(&bytes, 0).map_err(io("sending"))?;
        loop {
            let n = self
                .socket
                .recv(&mut &mut self.recv_buf[..], 0)
                .map_err(io("receiving"))?;
            for (kind, reply_seq, errno) in headers(&self.recv_buf[..n]) {
                if kind == NLMSG_ERROR && reply_seq == seq {
                    return match errno {
                        0 => Ok(true),
                        e if e == -libc::ENOENT => Ok(false),
                        e => Err(ElementsError::Refused(io::Error::from_raw_os_error(-e))),
                    };
                }
            }
        }
    }

    /// Applies `changes` to sets of `ip <table>` and `ip6 <table>` in one transaction: all or
    /// nothing.
    pub fn apply(&mut self, table: &str, changes: &[SetChange]) -> Result<(), ElementsError> {
        let io = |operation| move |source| ElementsError::Io { operation, source };
        let (bytes, total) = batch(table, changes, self.seq);
        if total == 0 {
            return Ok(());
        }
        let begin = self.seq.wrapping_add(1);
        let end = begin.wrapping_add(total as u32 + 1);
        self.seq = end;
        let mut pending = total;
        self.socket.send(&bytes, 0).map_err(io("sending"))?;
        let mut refused = None;
        while pending > 0 {
            let n = self
                .socket
                .recv(&mut &mut self.recv_buf[..], 0)
                .map_err(io("receiving"))?;
            for (kind, seq, errno) in headers(&self.recv_buf[..n]) {
                if kind == NLMSG_ERROR && (seq == begin || seq == end) && errno != 0 {
                    // The batch itself was refused: no other answer follows.
                    return Err(ElementsError::Refused(io::Error::from_raw_os_error(-errno)));
                }
                if kind == NLMSG_ERROR && seq.wrapping_sub(begin) <= total as u32 && seq != begin {
                    pending -= 1;
                    if errno != 0 && refused.is_none() {
                        refused = Some(io::Error::from_raw_os_error(-errno));
                    }
                }
            }
        }
        match refused {
            Some(e) => Err(ElementsError::Refused(e)),
            None => Ok(()),
        }
    }
}

/// The (type, sequence number, errno of an error message) of each message in a datagram.
fn headers(buf: &[u8]) -> Vec<(u16, u32, i32)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 16 <= buf.len() {
        let b = &buf[at..];
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        let len = u32::from_ne_bytes(word(0)) as usize;
        if len < 16 || len > b.len() {
            break;
        }
        let kind = u16::from_ne_bytes([b[4], b[5]]);
        let seq = u32::from_ne_bytes(word(8));
        let errno = if kind == NLMSG_ERROR && len >= 20 {
            i32::from_ne_bytes(word(16))
        } else {
            0
        };
        out.push((kind, seq, errno));
        at += len.next_multiple_of(4);
    }
    out
}
