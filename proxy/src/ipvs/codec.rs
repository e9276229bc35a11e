//! Skiff's codec for the IPVS generic-netlink family ("IPVS", version 1), laid out as
//! `include/uapi/linux/ip_vs.h` says: services and destinations nest under
//! `IPVS_CMD_ATTR_SERVICE` / `IPVS_CMD_ATTR_DEST`, addresses are the 16-byte `nf_inet_addr`
//! union, ports (and the IPv4 persistence netmask) big-endian, flags `{flags, mask}`. Pure.
//! This module holds the message types and frames them; `attrs` lays out their attributes.

use std::net::IpAddr;

use netlink_packet_core::{
    DecodeError, Emitable, NetlinkHeader, NetlinkMessage, NlaBuffer, NlasIterator,
    ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

use super::attrs::Tlv;

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

fn af_of(ip: IpAddr) -> u16 {
    if ip.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

impl ServiceAttrs {
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
            if let Some(attr) = IpvsAttr::parse(cmd, nla.kind(), nla.value())? {
                attrs.push(attr);
            }
        }
        Ok(Self { cmd, attrs })
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
