//! A small synchronous rtnetlink client (links, addresses, routes) over `netlink-sys`.
//!
//! [`Netlink`] holds one `NETLINK_ROUTE` socket in the network namespace of the thread that
//! opened it and implements the bridge plugin's [`NetOps`] seam with as few round trips as
//! the kernel allows: one request per operation, creations echo the new link back.

mod addr;
mod bridge_port;
mod link;
mod route;
mod socket;
mod sysctl;

use crate::bridge::kernel::{BridgeSpec, LinkInfo, NetError, NetOps, RouteSpec, VethSpec};
use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL};
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::RouteNetlinkMessage as Rtnl;
use socket::{Failure, RouteSocket};
use std::os::fd::{AsRawFd, BorrowedFd};

/// An rtnetlink client bound to the network namespace of the thread that opened it.
#[derive(Debug)]
pub struct Netlink {
    sock: RouteSocket,
}

impl Netlink {
    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, NetError> {
        RouteSocket::open()
            .map(|sock| Self { sock })
            .map_err(|source| NetError::Request {
                op: "open rtnetlink socket".into(),
                source,
            })
    }

    /// Sends one request expecting an ACK; `op` names it in errors.
    fn call(&mut self, msg: Rtnl, flags: u16, op: impl FnOnce() -> String) -> Result<(), NetError> {
        self.sock
            .request(msg, flags)
            .map(drop)
            .map_err(|f| failed(op(), f))
    }

    fn get_link(&mut self, name: &str) -> Result<Option<LinkMessage>, NetError> {
        match self.sock.request(Rtnl::GetLink(link::get_by_name(name)), 0) {
            Ok(replies) => Ok(find_link(replies, name)),
            Err(f) if f.errno() == Some(libc::ENODEV) => Ok(None),
            Err(f) => Err(failed(format!("look up link {name}"), f)),
        }
    }

    fn require_link(&mut self, name: &str) -> Result<LinkInfo, NetError> {
        self.get_link(name)?
            .map(|m| link::link_info(&m))
            .ok_or_else(|| NetError::NotFound { name: name.into() })
    }

    /// Sends a creation with `NLM_F_ECHO`; returns the new link when the kernel echoes it
    /// (since 6.3), `None` when it must be looked up.
    fn create_link(&mut self, msg: LinkMessage, name: &str) -> Result<Option<LinkInfo>, Failure> {
        let flags = NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
        let replies = self.sock.request(Rtnl::NewLink(msg), flags)?;
        Ok(find_link(replies, name).map(|m| link::link_info(&m)))
    }
}

/// The link named `name` among the kernel's replies.
fn find_link(replies: Vec<Rtnl>, name: &str) -> Option<LinkMessage> {
    replies.into_iter().find_map(|r| match r {
        Rtnl::NewLink(m) if link::link_info(&m).name == name => Some(m),
        _ => None,
    })
}

/// A kernel failure as [`NetError::Request`], the kernel's explanation appended to `op`.
fn failed(op: String, f: Failure) -> NetError {
    let op = match f.detail {
        Some(detail) => format!("{op} (kernel: {detail})"),
        None => op,
    };
    NetError::Request {
        op,
        source: f.source,
    }
}

impl NetOps for Netlink {
    fn link_by_name(&mut self, name: &str) -> Result<Option<LinkInfo>, NetError> {
        Ok(self.get_link(name)?.map(|m| link::link_info(&m)))
    }

    fn ensure_bridge(&mut self, spec: &BridgeSpec) -> Result<LinkInfo, NetError> {
        let name = &spec.name;
        let msg = match self.get_link(name)? {
            Some(m) => m,
            None => match self.create_link(link::new_bridge(spec), name) {
                Ok(echoed) => {
                    tracing::debug!(bridge = %name, "created bridge");
                    return echoed.map_or_else(|| self.require_link(name), Ok);
                }
                // Another ADD created it first: check and adjust it like any existing one.
                Err(f) if f.errno() == Some(libc::EEXIST) => self
                    .get_link(name)?
                    .ok_or_else(|| NetError::NotFound { name: name.clone() })?,
                Err(f) => {
                    let vlan = if spec.vlan_filtering {
                        " with VLAN filtering"
                    } else {
                        ""
                    };
                    return Err(failed(format!("create bridge {name}{vlan}"), f));
                }
            },
        };
        let current = link::link_info(&msg);
        if current.kind.as_deref() != Some("bridge") {
            return Err(NetError::WrongKind {
                name: name.clone(),
                found: current.kind.unwrap_or_else(|| "device".into()),
                wanted: "bridge".into(),
            });
        }
        let Some(update) = link::update_bridge(&current, link::vlan_filtering(&msg), spec) else {
            return Ok(current);
        };
        self.call(Rtnl::NewLink(update), 0, || {
            format!("adjust bridge {name} (up, mac, mtu, promisc, vlan filtering)")
        })?;
        tracing::debug!(bridge = %name, "adjusted existing bridge");
        self.require_link(name)
    }

    fn create_veth(
        &mut self,
        spec: &VethSpec,
        peer_netns: BorrowedFd<'_>,
    ) -> Result<LinkInfo, NetError> {
        let msg = link::new_veth(spec, peer_netns.as_raw_fd());
        match self.create_link(msg, &spec.host_name) {
            Ok(echoed) => {
                let host = echoed.map_or_else(|| self.require_link(&spec.host_name), Ok)?;
                tracing::debug!(
                    host = %spec.host_name,
                    container = %spec.container_name,
                    index = host.index,
                    "created veth pair"
                );
                Ok(host)
            }
            Err(f) if f.errno() == Some(libc::EEXIST) => {
                // The kernel does not say which end collided: the host name is checked here,
                // so otherwise it was the container name in the container namespace.
                let name = if self.get_link(&spec.host_name)?.is_some() {
                    &spec.host_name
                } else {
                    &spec.container_name
                };
                Err(NetError::Exists { name: name.clone() })
            }
            Err(f) => Err(failed(
                format!(
                    "create veth {} with peer {} in container namespace",
                    spec.host_name, spec.container_name
                ),
                f,
            )),
        }
    }

    fn delete_link(&mut self, name: &str) -> Result<bool, NetError> {
        match self.sock.request(Rtnl::DelLink(link::by_name(name)), 0) {
            Ok(_) => {
                tracing::debug!(link = %name, "deleted link");
                Ok(true)
            }
            Err(f) if f.errno() == Some(libc::ENODEV) => Ok(false),
            Err(f) => Err(failed(format!("delete link {name}"), f)),
        }
    }

    fn set_master(&mut self, index: u32, master: u32) -> Result<(), NetError> {
        self.call(Rtnl::SetLink(link::set_master(index, master)), 0, || {
            format!("attach link #{index} to bridge #{master}")
        })
    }

    fn set_up(&mut self, index: u32) -> Result<(), NetError> {
        self.call(Rtnl::SetLink(link::set_up(index)), 0, || {
            format!("set link #{index} up")
        })
    }

    fn set_hairpin(&mut self, index: u32, on: bool) -> Result<(), NetError> {
        self.call(Rtnl::SetLink(bridge_port::hairpin(index, on)), 0, || {
            let state = if on { "on" } else { "off" };
            format!("set hairpin {state} on bridge port #{index}")
        })
    }

    fn set_port_vlan(&mut self, index: u32, vid: u16, keep_default: bool) -> Result<(), NetError> {
        self.call(Rtnl::SetLink(bridge_port::add_pvid(index, vid)), 0, || {
            format!("set untagged PVID {vid} on bridge port #{index}")
        })?;
        if keep_default || vid == bridge_port::DEFAULT_VID {
            return Ok(());
        }
        let del = bridge_port::del_vlan(index, bridge_port::DEFAULT_VID);
        match self.sock.request(Rtnl::DelLink(del), 0) {
            Ok(_) => Ok(()),
            // Already not a member (the bridge's default PVID may be off).
            Err(f) if f.errno() == Some(libc::ENOENT) => Ok(()),
            Err(f) => Err(failed(
                format!("remove default VLAN 1 from bridge port #{index}"),
                f,
            )),
        }
    }

    fn addresses(&mut self, index: u32) -> Result<Vec<IpNet>, NetError> {
        let replies = self
            .sock
            .dump(Rtnl::GetAddress(addr::dump(index)))
            .map_err(|f| failed(format!("list addresses of link #{index}"), f))?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                Rtnl::NewAddress(m) => addr::parse(m, index),
                _ => None,
            })
            .collect())
    }

    fn add_address(&mut self, index: u32, addr: IpNet, nodad: bool) -> Result<(), NetError> {
        let msg = Rtnl::NewAddress(addr::new(index, addr, nodad));
        match self.sock.request(msg, NLM_F_CREATE | NLM_F_EXCL) {
            Err(f) if f.errno() != Some(libc::EEXIST) => {
                Err(failed(format!("add address {addr} to link #{index}"), f))
            }
            _ => Ok(()),
        }
    }

    /// An address that is already absent counts as removed.
    fn del_address(&mut self, index: u32, addr: IpNet) -> Result<(), NetError> {
        match self
            .sock
            .request(Rtnl::DelAddress(addr::delete(index, addr)), 0)
        {
            Err(f) if f.errno() != Some(libc::EADDRNOTAVAIL) => Err(failed(
                format!("remove address {addr} from link #{index}"),
                f,
            )),
            _ => Ok(()),
        }
    }

    fn add_route(&mut self, r: &RouteSpec) -> Result<(), NetError> {
        match self
            .sock
            .request(Rtnl::NewRoute(route::new(r)), NLM_F_CREATE | NLM_F_EXCL)
        {
            Err(f) if f.errno() != Some(libc::EEXIST) => {
                let via = r.gw.map(|g| format!(" via {g}")).unwrap_or_default();
                Err(failed(
                    format!("add route {}{via} dev #{}", r.dst, r.oif),
                    f,
                ))
            }
            _ => Ok(()),
        }
    }

    fn routes(&mut self, oif: u32) -> Result<Vec<RouteSpec>, NetError> {
        let replies = match self.sock.dump(Rtnl::GetRoute(route::dump(oif))) {
            Ok(replies) => replies,
            // The kernel rejects a filter on an interface that does not exist.
            Err(f) if f.errno() == Some(libc::ENODEV) => return Ok(Vec::new()),
            Err(f) => return Err(failed(format!("list routes of link #{oif}"), f)),
        };
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                Rtnl::NewRoute(m) => route::parse(m, oif),
                _ => None,
            })
            .collect())
    }

    fn links(&mut self) -> Result<Vec<LinkInfo>, NetError> {
        let replies = self
            .sock
            .dump(Rtnl::GetLink(link::dump_all()))
            .map_err(|f| failed("list links".to_string(), f))?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                Rtnl::NewLink(m) => Some(link::link_info(m)),
                _ => None,
            })
            .collect())
    }

    fn ports(&mut self, master: u32) -> Result<Vec<LinkInfo>, NetError> {
        let replies = self
            .sock
            .dump(Rtnl::GetLink(link::dump_ports(master)))
            .map_err(|f| failed(format!("list ports of bridge #{master}"), f))?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                Rtnl::NewLink(m) => Some(link::link_info(m)),
                _ => None,
            })
            .filter(|l| l.master == Some(master))
            .collect())
    }

    fn set_sysctl(&mut self, key: &str, value: &str) -> Result<(), NetError> {
        sysctl::write(key, value)
    }
}
