//! The request/acknowledge loop over one `NETLINK_ROUTE` socket: send one typed message,
//! read replies with its sequence number until the kernel's ACK, error or end of dump.

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, NLM_F_ACK,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::io;

/// Receive buffer size: the kernel fills dump datagrams up to 32 KiB.
const RECV_BUF: usize = 64 * 1024;
/// `NLM_F_CAPPED` on an error message: the echoed request is only its header.
const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` on an error message: extended-ack attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: the kernel's error text.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// How often an interrupted dump (the table changed under it) is retried.
const DUMP_ATTEMPTS: usize = 5;

/// A failed request: the errno (or I/O error) and the kernel's extended-ack text, if any.
#[derive(Debug)]
pub struct Failure {
    /// The error; `raw_os_error()` is the errno the kernel returned.
    pub source: io::Error,
    /// The kernel's explanation (extended ACK), e.g. `Invalid VLAN id`.
    pub detail: Option<String>,
}

impl Failure {
    /// The errno, when the kernel returned one.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    fn io(source: io::Error) -> Self {
        Self {
            source,
            detail: None,
        }
    }

    fn invalid(what: String) -> Self {
        Self::io(io::Error::new(io::ErrorKind::InvalidData, what))
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Self::io(e)
    }
}

/// One rtnetlink socket in the network namespace of the thread that opened it.
pub struct RouteSocket {
    socket: Socket,
    seq: u32,
    recv_buf: Vec<u8>,
}

impl std::fmt::Debug for RouteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteSocket")
            .field("seq", &self.seq)
            .finish()
    }
}

impl RouteSocket {
    /// Opens and connects a socket to the kernel, with strict dump filtering and
    /// extended ACKs when the kernel offers them.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        // Optional features: older kernels lack them and still work, only less precisely.
        let _ = socket.set_netlink_get_strict_chk(true);
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        Ok(Self {
            socket,
            seq: 0,
            recv_buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// Sends a request with `NLM_F_REQUEST | NLM_F_ACK | flags` and returns the messages
    /// the kernel answered with before its ACK (those echoed by `NLM_F_ECHO`, or the
    /// reply to a get).
    pub fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        self.receive(seq, false).map(|(msgs, _)| msgs)
    }

    /// Dumps (`NLM_F_DUMP`) and returns every part, retrying a dump the kernel marks as
    /// interrupted by a concurrent change.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let seq = self.send(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP)?;
            let (msgs, interrupted) = self.receive(seq, true)?;
            if !interrupted || attempt == DUMP_ATTEMPTS {
                return Ok(msgs);
            }
        }
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, Failure> {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.socket.send(&encode(msg, flags, self.seq), 0)?;
        Ok(self.seq)
    }

    /// Reads until the message that ends request `seq`; returns the inner messages and
    /// whether a dump part was flagged interrupted.
    fn receive(
        &mut self,
        seq: u32,
        dump: bool,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool), Failure> {
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            self.recv_buf.clear();
            let len = self.socket.recv(&mut self.recv_buf, libc::MSG_TRUNC)?;
            if len > self.recv_buf.len() {
                return Err(Failure::invalid(format!(
                    "netlink reply of {len} bytes exceeds the {RECV_BUF}-byte buffer"
                )));
            }
            let mut rest = &self.recv_buf[..len];
            while !rest.is_empty() {
                let frame = NetlinkBuffer::new_checked(rest)
                    .map_err(|e| Failure::invalid(format!("malformed netlink reply: {e}")))?;
                let frame_len = frame.length() as usize;
                let aligned = (frame_len + 3) & !3;
                let bytes = &rest[..frame_len];
                rest = &rest[aligned.min(rest.len())..];
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| Failure::invalid(format!("undecodable netlink reply: {e}")))?;
                if msg.header.sequence_number != seq {
                    // A late answer to an earlier request that was abandoned.
                    continue;
                }
                interrupted |= msg.header.flags & NLM_F_DUMP_INTR != 0;
                let flags = msg.header.flags;
                match msg.payload {
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    NetlinkPayload::Error(e) => match e.code {
                        None if !dump => return Ok((out, interrupted)),
                        None => {}
                        Some(code) => {
                            return Err(Failure {
                                source: io::Error::from_raw_os_error(-code.get()),
                                detail: extack_message(flags, &e.header),
                            })
                        }
                    },
                    NetlinkPayload::Done(done) if done.code < 0 => {
                        return Err(Failure {
                            source: io::Error::from_raw_os_error(-done.code),
                            detail: None,
                        })
                    }
                    NetlinkPayload::Done(_) => return Ok((out, interrupted)),
                    _ => {}
                }
            }
        }
    }
}

/// Serializes one request with the given flags and sequence number.
pub fn encode(msg: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf);
    buf
}

/// The kernel's error text from the extended-ACK attributes after the echoed request.
fn extack_message(flags: u16, echoed: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || echoed.len() < 16 {
        return None;
    }
    let request_len = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        u32::from_ne_bytes(echoed[..4].try_into().ok()?) as usize
    };
    let tlvs = echoed.get((request_len + 3) & !3..)?;
    NlasIterator::new(tlvs)
        .filter_map(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .map(|nla| {
            let text = nla.value();
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            String::from_utf8_lossy(&text[..end]).into_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extack_text_is_read_after_a_capped_echo() {
        let mut echoed = vec![0u8; 16];
        // NLA: len 4 + "bad vid\0" (8) = 12, type 1.
        echoed.extend_from_slice(&12u16.to_ne_bytes());
        echoed.extend_from_slice(&1u16.to_ne_bytes());
        echoed.extend_from_slice(b"bad vid\0");
        let got = extack_message(NLM_F_CAPPED | NLM_F_ACK_TLVS, &echoed);
        assert_eq!(got.as_deref(), Some("bad vid"));
    }

    #[test]
    fn no_extack_without_the_tlv_flag() {
        assert_eq!(extack_message(NLM_F_CAPPED, &[0u8; 32]), None);
    }
}
