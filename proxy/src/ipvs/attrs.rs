//! The attribute layouts of the IPVS family: how services, real servers and a message's
//! top-level attributes become netlink attributes (native-endian integers, big-endian ports,
//! the 16-byte address union, `{flags, mask}`, nesting) and how they are read back. Pure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, Emitable, Nla, NlasIterator, NLA_TYPE_MASK};

use super::codec::{DestAttrs, IpvsAttr, IpvsCmd, ServiceAttrs, SvcFlags, AF_INET, AF_INET6};

/// One attribute on the wire: a kind and a value of one of the layouts IPVS uses.
#[derive(Debug, Clone)]
pub(super) enum Tlv<'a> {
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

impl ServiceAttrs {
    /// The service's attributes as they nest under `IPVS_CMD_ATTR_SERVICE`.
    pub(super) fn tlvs(&self) -> Vec<Tlv<'_>> {
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

    /// Parses the attributes nested under `IPVS_CMD_ATTR_SERVICE`.
    pub(super) fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
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
}

impl DestAttrs {
    /// The real server's attributes as they nest under `IPVS_CMD_ATTR_DEST`.
    pub(super) fn tlvs(&self) -> Vec<Tlv<'_>> {
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

    /// Parses the attributes nested under `IPVS_CMD_ATTR_DEST`.
    pub(super) fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
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
    /// The attribute on the wire.
    pub(super) fn tlv(&self) -> Tlv<'_> {
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
    /// Parses the top-level attribute `kind` of a message with command `cmd`; `None` for
    /// attributes Skiff does not read.
    pub(super) fn parse(cmd: IpvsCmd, kind: u16, val: &[u8]) -> Result<Option<Self>, DecodeError> {
        Ok(Some(match (cmd, kind & NLA_TYPE_MASK) {
            (IpvsCmd::SetInfo, 1) => IpvsAttr::InfoVersion(u32_ne(val)?),
            (IpvsCmd::SetInfo, 2) => IpvsAttr::InfoConnTabSize(u32_ne(val)?),
            (IpvsCmd::SetInfo, _) => return Ok(None),
            (_, 1) => IpvsAttr::Service(ServiceAttrs::parse(val)?),
            (_, 2) => IpvsAttr::Dest(DestAttrs::parse(val)?),
            (_, 4) => IpvsAttr::TimeoutTcp(u32_ne(val)?),
            (_, 5) => IpvsAttr::TimeoutTcpFin(u32_ne(val)?),
            (_, 6) => IpvsAttr::TimeoutUdp(u32_ne(val)?),
            _ => return Ok(None),
        }))
    }
}

fn short(what: &str) -> DecodeError {
    DecodeError::from(format!("IPVS attribute too short for {what}"))
}

/// The first `N` bytes of `v`, or an error naming `what` was too short.
fn fixed<const N: usize>(v: &[u8], what: &str) -> Result<[u8; N], DecodeError> {
    v.get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| short(what))
}

fn u16_ne(v: &[u8]) -> Result<u16, DecodeError> {
    fixed(v, "u16").map(u16::from_ne_bytes)
}

fn u16_be(v: &[u8]) -> Result<u16, DecodeError> {
    fixed(v, "port").map(u16::from_be_bytes)
}

fn u32_ne(v: &[u8]) -> Result<u32, DecodeError> {
    fixed(v, "u32").map(u32::from_ne_bytes)
}

fn u32_be(v: &[u8]) -> Result<u32, DecodeError> {
    fixed(v, "netmask").map(u32::from_be_bytes)
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
