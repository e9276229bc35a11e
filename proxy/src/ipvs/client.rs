//! The IPVS client: one persistent generic-netlink socket, the family id resolved once,
//! requests pipelined (many sent, then their ACKs read) with errors matched to requests by
//! sequence number.

use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use super::codec::{
    encode_into, DestAttrs, IpvsAttr, IpvsCmd, IpvsMessage, ServiceAttrs, FAMILY_NAME,
};

/// Receive buffer for one datagram (the kernel fills dump parts up to 32 KiB).
const RECV_BUF: usize = 64 * 1024;
/// Requests packed into one datagram before it is sent.
const SEND_CHUNK: usize = 32 * 1024;
/// Requests sent before a barrier is awaited; their error answers must fit the socket's
/// receive buffer.
const WINDOW: usize = 4096;
/// The receive buffer asked for, so a window of ACKs never overruns it.
const SOCKET_RCVBUF: libc::c_int = 16 * 1024 * 1024;

/// Why the IPVS client failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The socket failed.
    #[error("IPVS netlink socket: {operation}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The kernel has no IPVS family (module `ip_vs` not loaded).
    #[error("the kernel has no generic netlink family IPVS (is the ip_vs module loaded?)")]
    FamilyMissing,
    /// The kernel refused a request.
    #[error("IPVS {command:?} refused")]
    Kernel {
        /// The command.
        command: IpvsCmd,
        /// The errno.
        #[source]
        source: io::Error,
    },
    /// A reply could not be decoded.
    #[error("undecodable IPVS reply: {detail}")]
    Decode {
        /// The decoder's message.
        detail: String,
    },
}

fn io_err(operation: &'static str) -> impl FnOnce(io::Error) -> IpvsError {
    move |source| IpvsError::Io { operation, source }
}

/// One persistent IPVS socket in the network namespace of the thread that opened it.
pub struct IpvsSocket {
    socket: Socket,
    family: u16,
    seq: u32,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    writes: u64,
}

/// How the closing request of a window was answered: its outcome and the replies it got.
struct Answer {
    outcome: Result<(), io::Error>,
    replies: Vec<IpvsMessage>,
}

impl std::fmt::Debug for IpvsSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsSocket")
            .field("family", &self.family)
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl IpvsSocket {
    /// Opens the socket and resolves the IPVS family id (`CTRL_CMD_GETFAMILY`).
    pub fn open() -> Result<Self, IpvsError> {
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(io_err("open"))?;
        socket.bind_auto().map_err(io_err("bind"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(io_err("connect"))?;
        // Optional: short ACKs and a large buffer keep a pipelined window from overrunning.
        let _ = socket.set_cap_ack(true);
        let _ = socket.set_ext_ack(true);
        force_rcvbuf(&socket);
        let mut this = Self {
            socket,
            family: 0,
            seq: 0,
            recv_buf: Vec::with_capacity(RECV_BUF),
            send_buf: Vec::with_capacity(SEND_CHUNK + 1024),
            writes: 0,
        };
        this.family = this.resolve_family()?;
        Ok(this)
    }

    /// The family id the kernel assigned to IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// How many changing requests (new/set/del) this socket has sent.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    fn resolve_family(&mut self) -> Result<u16, IpvsError> {
        let ctrl = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(FAMILY_NAME.into())],
        };
        let seq = self.next_seq();
        let mut msg = NetlinkMessage::new(
            header(NLM_F_REQUEST | NLM_F_ACK, seq),
            NetlinkPayload::InnerMessage(GenlMessage::from_payload(ctrl)),
        );
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.send(&buf)?;
        let mut family = None;
        let mut missing = false;
        self.read_until(|frame| {
            let m = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(frame)
                .map_err(|e| decode(e.to_string()))?;
            if m.header.sequence_number != seq {
                return Ok(false);
            }
            match m.payload {
                NetlinkPayload::InnerMessage(g) => {
                    family = g.payload.nlas.iter().find_map(|a| match a {
                        GenlCtrlAttrs::FamilyId(id) => Some(*id),
                        _ => None,
                    });
                    Ok(false)
                }
                NetlinkPayload::Error(e) => {
                    missing = e.code.is_some();
                    Ok(true)
                }
                _ => Ok(true),
            }
        })?;
        match family {
            Some(id) if !missing => Ok(id),
            _ => Err(IpvsError::FamilyMissing),
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Sends every request (pipelined, in order) and returns each one's outcome, errors
    /// matched by sequence number. Fails as a whole only when the socket does.
    ///
    /// Requests go without `NLM_F_ACK`: the kernel answers only failures, and an info request
    /// with an ACK after each window of requests marks that all before it were processed
    /// (netlink handles a socket's requests in order). One ACK per window instead of one per
    /// request spares the kernel an answer and this process a receive per change.
    pub fn execute(
        &mut self,
        requests: &[IpvsMessage],
    ) -> Result<Vec<Result<(), io::Error>>, IpvsError> {
        let mut outcomes: Vec<Result<(), io::Error>> = Vec::with_capacity(requests.len());
        let barrier = IpvsMessage {
            cmd: IpvsCmd::GetInfo,
            attrs: vec![],
        };
        for window in requests.chunks(WINDOW) {
            let base = outcomes.len();
            outcomes.extend(window.iter().map(|_| Ok(())));
            // The barrier's own answer (the info reply and its ACK) only closes the window.
            self.exchange(
                window,
                &mut outcomes[base..],
                &barrier,
                NLM_F_REQUEST | NLM_F_ACK,
            )?;
        }
        Ok(outcomes)
    }

    /// Dumps with `request` and returns every reply.
    pub fn dump(&mut self, request: &IpvsMessage) -> Result<Vec<IpvsMessage>, IpvsError> {
        self.ask(request, NLM_F_REQUEST | NLM_F_DUMP)
    }

    /// Sends `request` alone with `flags` and returns its replies, or the kernel's refusal.
    fn ask(&mut self, request: &IpvsMessage, flags: u16) -> Result<Vec<IpvsMessage>, IpvsError> {
        let answer = self.exchange(&[], &mut [], request, flags)?;
        answer.outcome.map_err(|source| IpvsError::Kernel {
            command: request.cmd,
            source,
        })?;
        Ok(answer.replies)
    }

    /// One window: `requests` without an acknowledgement, then `closing` with `flags`
    /// (`NLM_F_ACK` or `NLM_F_DUMP`), packed into datagrams of about [`SEND_CHUNK`] bytes.
    /// Reads until the closing request is answered by an ACK, an error or the end of its
    /// dump; a request's error lands in its slot of `outcomes` (matched by sequence number).
    fn exchange(
        &mut self,
        requests: &[IpvsMessage],
        outcomes: &mut [Result<(), io::Error>],
        closing: &IpvsMessage,
        flags: u16,
    ) -> Result<Answer, IpvsError> {
        let mut chunk = std::mem::take(&mut self.send_buf);
        chunk.clear();
        let first_seq = self.seq.wrapping_add(1).max(1);
        for request in requests {
            self.encode(request, NLM_F_REQUEST, &mut chunk);
            self.writes += 1;
            if chunk.len() >= SEND_CHUNK {
                self.send(&chunk)?;
                chunk.clear();
            }
        }
        let closing_seq = self.encode(closing, flags, &mut chunk);
        self.send(&chunk)?;
        self.send_buf = chunk;
        let mut answer = Answer {
            outcome: Ok(()),
            replies: Vec::new(),
        };
        self.read_until(|frame| {
            let m = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(frame)
                .map_err(|e| decode(e.to_string()))?;
            let seq = m.header.sequence_number;
            match m.payload {
                NetlinkPayload::InnerMessage(g) if seq == closing_seq => {
                    answer.replies.push(g.payload);
                    Ok(false)
                }
                NetlinkPayload::Error(e) if seq == closing_seq => {
                    if let Some(code) = e.code {
                        answer.outcome = Err(io::Error::from_raw_os_error(-code.get()));
                    }
                    Ok(true)
                }
                NetlinkPayload::Done(_) if seq == closing_seq => Ok(true),
                NetlinkPayload::Error(e) => {
                    let index = seq.wrapping_sub(first_seq) as usize;
                    if let (Some(code), Some(slot)) = (e.code, outcomes.get_mut(index)) {
                        *slot = Err(io::Error::from_raw_os_error(-code.get()));
                    }
                    Ok(false)
                }
                _ => Ok(false),
            }
        })?;
        Ok(answer)
    }

    fn encode(&mut self, msg: &IpvsMessage, flags: u16, out: &mut Vec<u8>) -> u32 {
        let seq = self.next_seq();
        encode_into(msg, self.family, flags, seq, out);
        seq
    }

    fn send(&self, datagram: &[u8]) -> Result<(), IpvsError> {
        self.socket.send(datagram, 0).map_err(io_err("send"))?;
        Ok(())
    }

    /// Every virtual service the kernel holds.
    pub fn services(&mut self) -> Result<Vec<ServiceAttrs>, IpvsError> {
        let replies = self.dump(&IpvsMessage {
            cmd: IpvsCmd::GetService,
            attrs: vec![],
        })?;
        Ok(replies
            .into_iter()
            .flat_map(|m| m.attrs)
            .filter_map(|a| match a {
                IpvsAttr::Service(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    /// The real servers of one service (named by `service`'s key attributes).
    pub fn dests(&mut self, service: &ServiceAttrs) -> Result<Vec<DestAttrs>, IpvsError> {
        let key = ServiceAttrs {
            af: service.af,
            protocol: service.protocol,
            addr: service.addr,
            port: service.port,
            fwmark: service.fwmark,
            ..ServiceAttrs::default()
        };
        let replies = self.dump(&IpvsMessage {
            cmd: IpvsCmd::GetDest,
            attrs: vec![IpvsAttr::Service(key)],
        })?;
        Ok(replies
            .into_iter()
            .flat_map(|m| m.attrs)
            .filter_map(|a| match a {
                IpvsAttr::Dest(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    /// The kernel's IPVS version and connection table size (`IPVS_CMD_GET_INFO`).
    pub fn info(&mut self) -> Result<(u32, u32), IpvsError> {
        let replies = self.ask(
            &IpvsMessage {
                cmd: IpvsCmd::GetInfo,
                attrs: vec![],
            },
            NLM_F_REQUEST | NLM_F_ACK,
        )?;
        let (mut version, mut size) = (0, 0);
        for attr in replies.into_iter().flat_map(|m| m.attrs) {
            match attr {
                IpvsAttr::InfoVersion(v) => version = v,
                IpvsAttr::InfoConnTabSize(v) => size = v,
                _ => {}
            }
        }
        Ok((version, size))
    }

    /// Reads datagrams, handing each frame to `on_frame`, until it returns true.
    fn read_until(
        &mut self,
        mut on_frame: impl FnMut(&[u8]) -> Result<bool, IpvsError>,
    ) -> Result<(), IpvsError> {
        let mut done = false;
        while !done {
            self.recv_datagram(|frame| {
                if !done && on_frame(frame)? {
                    done = true;
                }
                Ok(done)
            })?;
        }
        Ok(())
    }

    /// Receives one datagram and hands each netlink frame in it to `on_frame`.
    fn recv_datagram(
        &mut self,
        mut on_frame: impl FnMut(&[u8]) -> Result<bool, IpvsError>,
    ) -> Result<(), IpvsError> {
        self.recv_buf.clear();
        let len = self
            .socket
            .recv(&mut self.recv_buf, libc::MSG_TRUNC)
            .map_err(io_err("receive"))?;
        if len > self.recv_buf.capacity() {
            return Err(decode(format!(
                "datagram of {len} bytes exceeds the buffer"
            )));
        }
        let mut rest = &self.recv_buf[..len];
        while !rest.is_empty() {
            let frame = NetlinkBuffer::new_checked(rest).map_err(|e| decode(e.to_string()))?;
            let frame_len = frame.length() as usize;
            let bytes = &rest[..frame_len];
            rest = &rest[((frame_len + 3) & !3).min(rest.len())..];
            on_frame(bytes)?;
        }
        Ok(())
    }
}

fn header(flags: u16, seq: u32) -> NetlinkHeader {
    let mut h = NetlinkHeader::default();
    h.flags = flags;
    h.sequence_number = seq;
    h
}

fn decode(detail: String) -> IpvsError {
    IpvsError::Decode { detail }
}

/// Asks for a large receive buffer, beyond `rmem_max` when privileged.
pub(super) fn force_rcvbuf(socket: &Socket) {
    force_buffer(socket, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, SOCKET_RCVBUF);
}

/// Sets a socket buffer to `size` with the privileged option `forced` (beyond the sysctl
/// maximum), else with `plain` (capped by it); left as it is when both fail.
pub(super) fn force_buffer(
    socket: &Socket,
    forced: libc::c_int,
    plain: libc::c_int,
    size: libc::c_int,
) {
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    for opt in [forced, plain] {
        // SAFETY: a valid socket fd and a c_int option value of the stated length.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                len,
            )
        };
        if rc == 0 {
            return;
        }
    }
}
