//! Skiff's codec for the IPVS generic-netlink family ("IPVS", version 1), laid out as
//! `include/uapi/linux/ip_vs.h` says: services and destinations nest under
//! `IPVS_CMD_ATTR_SERVICE` / `IPVS_CMD_ATTR_DEST`, addresses are the 16-byte `nf_inet_addr`
//! union, ports (and the IPv4 persistence netmask) big-endian, flags `{flags, mask}`. Pure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, Emitable, NetlinkHeader, NetlinkMessage, Nla, NlaBuffer, NlasIterator,
    ParseableParametrized, NLA_TYPE_MASK,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

/// The family's registered name.
pub const FAMILY_NAME: &str = "IPVS";
/// The family's version.
pub const FAMILY_VERSION: u8 = 1;

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `IP_VS_SVC_F_PERSISTENT`: ClientIP affinity for `timeout` seconds.
pub const SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_CONN_F_MASQ`: forward by NAT.
pub const FWD_MASQ: u32 = 0;

/// IPVS commands (`IPVS_CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum IpvsCmd {
    /// `IPVS_CMD_NEW_SERVICE` (also the kernel's reply to a service get/dump).
    NewService = 1,
    /// `IPVS_CMD_SET_SERVICE`.
    SetService = 2,
    /// `IPVS_CMD_DEL_SERVICE`.
    DelService = 3,
    /// `IPVS_CMD_GET_SERVICE`.
    GetService = 4,
    /// `IPVS_CMD_NEW_DEST` (also the reply to a destination dump).
    NewDest = 5,
    /// `IPVS_CMD_SET_DEST`.
    SetDest = 6,
    /// `IPVS_CMD_DEL_DEST`.
    DelDest = 7,
    /// `IPVS_CMD_GET_DEST`.
    GetDest = 8,
    /// `IPVS_CMD_SET_CONFIG` (also the reply to a config get).
    SetConfig = 12,
    /// `IPVS_CMD_GET_CONFIG`.
    GetConfig = 13,
    /// `IPVS_CMD_SET_INFO`: the kernel's reply to an info get.
    SetInfo = 14,
    /// `IPVS_CMD_GET_INFO`.
    GetInfo = 15,
}

impl IpvsCmd {
    fn from_u8(v: u8) -> Result<Self, DecodeError> {
        use IpvsCmd::*;
        Ok(match v {
            1 => NewService,
            2 => SetService,
            3 => DelService,
            4 => GetService,
            5 => NewDest,
            6 => SetDest,
            7 => DelDest,
            8 => GetDest,
            12 => SetConfig,
            13 => GetConfig,
            14 => SetInfo,
            15 => GetInfo,
            other => return Err(DecodeError::from(format!("unknown IPVS command {other}"))),
        })
    }
}

/// `{flags, mask}` as `struct ip_vs_flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvcFlags {
    /// Flag bits.
    pub flags: u32,
    /// Which bits to change.
    pub mask: u32,
}

/// A virtual service's attributes (`IPVS_SVC_ATTR_*`); unset ones are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAttrs {
    /// Address family.
    pub af: Option<u16>,
    /// IP protocol number.
    pub protocol: Option<u16>,
    /// Virtual address.
    pub addr: Option<IpAddr>,
    /// Virtual port.
    pub port: Option<u16>,
    /// Firewall mark (instead of protocol, address and port).
    pub fwmark: Option<u32>,
    /// Scheduler (`rr`, `wrr`, `lc`, …).
    pub sched_name: Option<String>,
    /// Service flags.
    pub flags: Option<SvcFlags>,
    /// Persistence timeout in seconds.
    pub timeout: Option<u32>,
    /// Persistence netmask: an IPv4 mask, or an IPv6 prefix length.
    pub netmask: Option<u32>,
}

/// A real server's attributes (`IPVS_DEST_ATTR_*`); counters only come from the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestAttrs {
    /// Real server address.
    pub addr: Option<IpAddr>,
    /// Real server port.
    pub port: Option<u16>,
    /// Forwarding method (`IP_VS_CONN_F_*`).
    pub fwd_method: Option<u32>,
    /// Weight; 0 takes no new connections.
    pub weight: Option<u32>,
    /// Upper connection threshold (0: none).
    pub u_thresh: Option<u32>,
    /// Lower connection threshold.
    pub l_thresh: Option<u32>,
    /// Active connections (reported).
    pub active_conns: Option<u32>,
    /// Inactive connections (reported).
    pub inact_conns: Option<u32>,
    /// Persistent templates (reported).
    pub persist_conns: Option<u32>,
    /// The real server's address family.
    pub addr_family: Option<u16>,
}

/// A top-level attribute of an IPVS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(ServiceAttrs),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(DestAttrs),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`.
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (in an info reply).
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (in an info reply).
    InfoConnTabSize(u32),
}

/// One IPVS generic-netlink payload: a command and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// Its attributes.
    pub attrs: Vec<IpvsAttr>,
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        FAMILY_NAME
    }
    fn command(&self) -> u8 {
        self.cmd as u8
    }
    fn version(&self) -> u8 {
        FAMILY_VERSION
    }
}

/// One attribute on the wire: a kind and a value of one of the layouts IPVS uses.
#[derive(Debug, Clone)]
enum Tlv<'a> {
    U16(u16, u16),
    Be16(u16, u16),
    U32(u16, u32),
    Be32(u16, u32),
    Addr(u16, IpAddr),
    Str(u16, &'a str),
    Flags(u16, SvcFlags),
    Nested(u16, Vec<Tlv<'a>>),
}

impl Nla for Tlv<'_> {
    fn value_len(&self) -> usize {
        match self {
            Tlv::U16(..) | Tlv::Be16(..) => 2,
            Tlv::U32(..) | Tlv::Be32(..) => 4,
            Tlv::Addr(..) => 16,
            Tlv::Str(_, s) => s.len() + 1,
            Tlv::Flags(..) => 8,
            Tlv::Nested(_, v) => v.as_slice().buffer_len(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            Tlv::U16(k, _)
            | Tlv::Be16(k, _)
            | Tlv::U32(k, _)
            | Tlv::Be32(k, _)
            | Tlv::Addr(k, _)
            | Tlv::Str(k, _)
            | Tlv::Flags(k, _)
            | Tlv::Nested(k, _) => *k,
        }
    }
    fn emit_value(&self, b: &mut [u8]) {
        match self {
            Tlv::U16(_, v) => b[..2].copy_from_slice(&v.to_ne_bytes()),
            Tlv::Be16(_, v) => b[..2].copy_from_slice(&v.to_be_bytes()),
            Tlv::U32(_, v) => b[..4].copy_from_slice(&v.to_ne_bytes()),
            Tlv::Be32(_, v) => b[..4].copy_from_slice(&v.to_be_bytes()),
            Tlv::Addr(_, ip) => b[..16].copy_from_slice(&addr_bytes(*ip)),
            Tlv::Str(_, s) => {
                b[..s.len()].copy_from_slice(s.as_bytes());
                b[s.len()] = 0;
            }
            Tlv::Flags(_, f) => {
                b[..4].copy_from_slice(&f.flags.to_ne_bytes());
                b[4..8].copy_from_slice(&f.mask.to_ne_bytes());
            }
            // The kernel nests without NLA_F_NESTED in its own dumps, and so does ipvsadm.
            Tlv::Nested(_, v) => v.as_slice().emit(b),
        }
    }
}

/// An address as the 16-byte `nf_inet_addr` union.
fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out = v6.octets(),
    }
    out
}

fn af_of(ip: IpAddr) -> u16 {
    if ip.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

impl ServiceAttrs {
    fn tlvs(&self) -> Vec<Tlv<'_>> {
        let mut v = Vec::with_capacity(9);
        if let Some(x) = self.af {
            v.push(Tlv::U16(1, x));
        }
        if let Some(x) = self.protocol {
            v.push(Tlv::U16(2, x));
        }
        if let Some(x) = self.addr {
            v.push(Tlv::Addr(3, x));
        }
        if let Some(x) = self.port {
            v.push(Tlv::Be16(4, x));
        }
        if let Some(x) = self.fwmark {
            v.push(Tlv::U32(5, x));
        }
        if let Some(x) = &self.sched_name {
            v.push(Tlv::Str(6, x));
        }
        if let Some(x) = self.flags {
            v.push(Tlv::Flags(7, x));
        }
        if let Some(x) = self.timeout {
            v.push(Tlv::U32(8, x));
        }
        if let Some(x) = self.netmask {
            // IPv4: a big-endian mask; IPv6: a prefix length the kernel reads unconverted.
            if self.af == Some(AF_INET6) {
                v.push(Tlv::U32(9, x));
            } else {
                v.push(Tlv::Be32(9, x));
            }
        }
        v
    }

    fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut s = Self::default();
        let mut raw_addr = None;
        for nla in NlasIterator::new(buf) {
            let nla = nla?;
            let val = nla.value();
            match nla.kind() & NLA_TYPE_MASK {
                1 => s.af = Some(u16_ne(val)?),
                2 => s.protocol = Some(u16_ne(val)?),
                3 => raw_addr = Some(val.to_vec()),
                4 => s.port = Some(u16_be(val)?),
                5 => s.fwmark = Some(u32_ne(val)?),
                6 => s.sched_name = Some(c_string(val)),
                7 => {
                    s.flags = Some(SvcFlags {
                        flags: u32_ne(val)?,
                        mask: u32_ne(val.get(4..).unwrap_or_default())?,
                    })
                }
                8 => s.timeout = Some(u32_ne(val)?),
                9 => {
                    s.netmask = Some(if s.af == Some(AF_INET6) {
                        u32_ne(val)?
                    } else {
                        u32_be(val)?
                    })
                }
                _ => {}
            }
        }
        if let Some(raw) = raw_addr {
            s.addr = Some(parse_addr(&raw, s.af)?);
        }
        Ok(s)
    }

    /// The attributes naming a service: family, protocol, address and port.
    pub fn key(protocol: u16, addr: IpAddr, port: u16) -> Self {
        Self {
            af: Some(af_of(addr)),
            protocol: Some(protocol),
            addr: Some(addr),
            port: Some(port),
            ..Self::default()
        }
    }
}

impl DestAttrs {
    fn tlvs(&self) -> Vec<Tlv<'_>> {
        let mut v = Vec::with_capacity(8);
        if let Some(x) = self.addr {
            v.push(Tlv::Addr(1, x));
        }
        if let Some(x) = self.port {
            v.push(Tlv::Be16(2, x));
        }
        let u32s = [
            (3, self.fwd_method),
            (4, self.weight),
            (5, self.u_thresh),
            (6, self.l_thresh),
            (7, self.active_conns),
            (8, self.inact_conns),
            (9, self.persist_conns),
        ];
        v.extend(
            u32s.into_iter()
                .filter_map(|(k, x)| x.map(|x| Tlv::U32(k, x))),
        );
        if let Some(x) = self.addr_family {
            v.push(Tlv::U16(11, x));
        }
        v
    }

    fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Self::default();
        let mut raw_addr = None;
        for nla in NlasIterator::new(buf) {
            let nla = nla?;
            let val = nla.value();
            match nla.kind() & NLA_TYPE_MASK {
                1 => raw_addr = Some(val.to_vec()),
                2 => d.port = Some(u16_be(val)?),
                3 => d.fwd_method = Some(u32_ne(val)?),
                4 => d.weight = Some(u32_ne(val)?),
                5 => d.u_thresh = Some(u32_ne(val)?),
                6 => d.l_thresh = Some(u32_ne(val)?),
                7 => d.active_conns = Some(u32_ne(val)?),
                8 => d.inact_conns = Some(u32_ne(val)?),
                9 => d.persist_conns = Some(u32_ne(val)?),
                11 => d.addr_family = Some(u16_ne(val)?),
                _ => {}
            }
        }
        if let Some(raw) = raw_addr {
            d.addr = Some(parse_addr(&raw, d.addr_family)?);
        }
        Ok(d)
    }
}

impl IpvsAttr {
    fn tlv(&self) -> Tlv<'_> {
        match self {
            IpvsAttr::Service(s) => Tlv::Nested(1, s.tlvs()),
            IpvsAttr::Dest(d) => Tlv::Nested(2, d.tlvs()),
            IpvsAttr::TimeoutTcp(x) => Tlv::U32(4, *x),
            IpvsAttr::TimeoutTcpFin(x) => Tlv::U32(5, *x),
            IpvsAttr::TimeoutUdp(x) => Tlv::U32(6, *x),
            IpvsAttr::InfoVersion(x) => Tlv::U32(1, *x),
            IpvsAttr::InfoConnTabSize(x) => Tlv::U32(2, *x),
        }
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.iter().map(|a| a.tlv().buffer_len()).sum()
    }
    fn emit(&self, buffer: &mut [u8]) {
        let tlvs: Vec<Tlv> = self.attrs.iter().map(IpvsAttr::tlv).collect();
        tlvs.as_slice().emit(buffer);
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from_u8(header.cmd)?;
        let mut attrs = Vec::new();
        for nla in NlasIterator::new(buf) {
            let nla: NlaBuffer<&[u8]> = nla?;
            let val = nla.value();
            let attr = match (cmd, nla.kind() & NLA_TYPE_MASK) {
                (IpvsCmd::SetInfo, 1) => IpvsAttr::InfoVersion(u32_ne(val)?),
                (IpvsCmd::SetInfo, 2) => IpvsAttr::InfoConnTabSize(u32_ne(val)?),
                (IpvsCmd::SetInfo, _) => continue,
                (_, 1) => IpvsAttr::Service(ServiceAttrs::parse(val)?),
                (_, 2) => IpvsAttr::Dest(DestAttrs::parse(val)?),
                (_, 4) => IpvsAttr::TimeoutTcp(u32_ne(val)?),
                (_, 5) => IpvsAttr::TimeoutTcpFin(u32_ne(val)?),
                (_, 6) => IpvsAttr::TimeoutUdp(u32_ne(val)?),
                _ => continue,
            };
            attrs.push(attr);
        }
        Ok(Self { cmd, attrs })
    }
}

fn short(what: &str) -> DecodeError {
    DecodeError::from(format!("IPVS attribute too short for {what}"))
}

fn u16_ne(v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(
        v.get(..2)
            .ok_or_else(|| short("u16"))?
            .try_into()
            .unwrap_or_default(),
    ))
}

fn u16_be(v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(
        v.get(..2)
            .ok_or_else(|| short("port"))?
            .try_into()
            .unwrap_or_default(),
    ))
}

fn u32_ne(v: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(
        v.get(..4)
            .ok_or_else(|| short("u32"))?
            .try_into()
            .unwrap_or_default(),
    ))
}

fn u32_be(v: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_be_bytes(
        v.get(..4)
            .ok_or_else(|| short("netmask"))?
            .try_into()
            .unwrap_or_default(),
    ))
}

fn c_string(v: &[u8]) -> String {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// Reads the address union; without a family, an address with 12 zero trailing bytes is IPv4.
fn parse_addr(raw: &[u8], af: Option<u16>) -> Result<IpAddr, DecodeError> {
    if raw.len() < 4 {
        return Err(short("address"));
    }
    let v4 = || IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]));
    match af {
        Some(AF_INET) => Ok(v4()),
        Some(AF_INET6) | None
            if raw.len() >= 16 && (af.is_some() || raw[4..16].iter().any(|&b| b != 0)) =>
        {
            let b: [u8; 16] = raw[..16].try_into().unwrap_or_default();
            Ok(IpAddr::V6(Ipv6Addr::from(b)))
        }
        None => Ok(v4()),
        Some(other) => Err(DecodeError::from(format!("unknown address family {other}"))),
    }
}

/// Appends `msg` as one netlink frame (header, generic header, attributes) for family id
/// `family` with `flags` and sequence number `seq`, building its attributes once.
pub fn encode_into(msg: &IpvsMessage, family: u16, flags: u16, seq: u32, out: &mut Vec<u8>) {
    let tlvs: Vec<Tlv<'_>> = msg.attrs.iter().map(IpvsAttr::tlv).collect();
    let header_len = NETLINK_HEADER_LEN + GENL_HEADER_LEN;
    let len = header_len + tlvs.as_slice().buffer_len();
    let mut header = NetlinkHeader::default();
    header.length = len as u32;
    header.message_type = family;
    header.flags = flags;
    header.sequence_number = seq;
    let start = out.len();
    out.resize(start + len, 0);
    let frame = &mut out[start..];
    header.emit(&mut frame[..NETLINK_HEADER_LEN]);
    GenlHeader {
        cmd: msg.cmd as u8,
        version: FAMILY_VERSION,
    }
    .emit(&mut frame[NETLINK_HEADER_LEN..header_len]);
    tlvs.as_slice().emit(&mut frame[header_len..]);
}

const NETLINK_HEADER_LEN: usize = 16;
const GENL_HEADER_LEN: usize = 4;

/// Decodes one netlink frame carrying an IPVS message (a reply or a request).
pub fn decode_frame(frame: &[u8]) -> Result<NetlinkMessage<GenlMessage<IpvsMessage>>, DecodeError> {
    NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(frame)
}
