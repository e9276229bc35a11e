//! The seam to the kernel's IPVS table, with an in-memory fake for unit tests.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

use super::client::{IpvsError, IpvsSocket};
use super::codec::{DestAttrs, IpvsAttr, IpvsCmd, IpvsMessage, ServiceAttrs};
use super::state::{RealKey, VirtualKey};
use super::wire::{parse_dest, parse_service, service_key};

/// IPVS as the dataplane uses it.
pub trait IpvsKernel: Send {
    /// Every virtual service.
    fn services(&mut self) -> Result<Vec<ServiceAttrs>, IpvsError>;
    /// The real servers of one service.
    fn dests(&mut self, service: &ServiceAttrs) -> Result<Vec<DestAttrs>, IpvsError>;
    /// Sends changes (pipelined); one outcome per request.
    fn execute(
        &mut self,
        requests: &[IpvsMessage],
    ) -> Result<Vec<Result<(), io::Error>>, IpvsError>;
}

impl IpvsKernel for IpvsSocket {
    fn services(&mut self) -> Result<Vec<ServiceAttrs>, IpvsError> {
        IpvsSocket::services(self)
    }
    fn dests(&mut self, service: &ServiceAttrs) -> Result<Vec<DestAttrs>, IpvsError> {
        IpvsSocket::dests(self, service)
    }
    fn execute(
        &mut self,
        requests: &[IpvsMessage],
    ) -> Result<Vec<Result<(), io::Error>>, IpvsError> {
        IpvsSocket::execute(self, requests)
    }
}

/// What a [`FakeIpvs`] holds and saw, shared with the test that made it.
#[derive(Debug, Default)]
pub struct FakeIpvsState {
    /// Services with their full attributes and real servers.
    pub services: BTreeMap<VirtualKey, (ServiceAttrs, BTreeMap<RealKey, DestAttrs>)>,
    /// Every changing request received.
    pub requests: Vec<IpvsMessage>,
}

/// An in-memory IPVS table with the kernel's answers (EEXIST, ENOENT).
#[derive(Debug, Clone, Default)]
pub struct FakeIpvs {
    /// The shared state.
    pub state: Arc<Mutex<FakeIpvsState>>,
}

impl FakeIpvs {
    /// Sets the connection counts of a real server, as traffic would.
    pub fn set_connections(&self, vs: VirtualKey, real: RealKey, active: u32, inactive: u32) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = st.services.get_mut(&vs).and_then(|(_, r)| r.get_mut(&real)) {
            d.active_conns = Some(active);
            d.inact_conns = Some(inactive);
        }
    }
}

fn apply(st: &mut FakeIpvsState, msg: &IpvsMessage) -> Result<(), io::Error> {
    let errno = |e| Err(io::Error::from_raw_os_error(e));
    let svc = msg.attrs.iter().find_map(|a| match a {
        IpvsAttr::Service(s) => Some(s),
        _ => None,
    });
    let dest = msg.attrs.iter().find_map(|a| match a {
        IpvsAttr::Dest(d) => Some(d),
        _ => None,
    });
    let Some((key, _)) = svc.and_then(parse_service) else {
        return errno(libc::EINVAL);
    };
    let real = dest.and_then(parse_dest).map(|(r, _)| r);
    match (msg.cmd, real) {
        (IpvsCmd::NewService, _) if st.services.contains_key(&key) => errno(libc::EEXIST),
        (IpvsCmd::NewService, _) => {
            st.services
                .insert(key, (svc.cloned().unwrap_or_default(), BTreeMap::new()));
            Ok(())
        }
        (IpvsCmd::SetService, _) => match st.services.get_mut(&key) {
            Some(s) => {
                s.0 = svc.cloned().unwrap_or_default();
                Ok(())
            }
            None => errno(libc::ESRCH),
        },
        (IpvsCmd::DelService, _) => match st.services.remove(&key) {
            Some(_) => Ok(()),
            None => errno(libc::ESRCH),
        },
        (cmd, Some(r)) => {
            let Some((_, reals)) = st.services.get_mut(&key) else {
                return errno(libc::ESRCH);
            };
            let d = dest.cloned().unwrap_or_default();
            match cmd {
                IpvsCmd::NewDest if reals.contains_key(&r) => errno(libc::EEXIST),
                IpvsCmd::NewDest => {
                    reals.insert(r, d);
                    Ok(())
                }
                IpvsCmd::SetDest => match reals.get_mut(&r) {
                    Some(have) => {
                        have.weight = d.weight;
                        Ok(())
                    }
                    None => errno(libc::ENOENT),
                },
                IpvsCmd::DelDest => match reals.remove(&r) {
                    Some(_) => Ok(()),
                    None => errno(libc::ENOENT),
                },
                _ => errno(libc::EINVAL),
            }
        }
        _ => errno(libc::EINVAL),
    }
}

impl IpvsKernel for FakeIpvs {
    fn services(&mut self) -> Result<Vec<ServiceAttrs>, IpvsError> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Ok(st.services.values().map(|(s, _)| s.clone()).collect())
    }
    fn dests(&mut self, service: &ServiceAttrs) -> Result<Vec<DestAttrs>, IpvsError> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let key = parse_service(service).map(|(k, _)| k);
        Ok(key
            .and_then(|k| st.services.get(&k))
            .map(|(_, r)| r.values().cloned().collect())
            .unwrap_or_default())
    }
    fn execute(
        &mut self,
        requests: &[IpvsMessage],
    ) -> Result<Vec<Result<(), io::Error>>, IpvsError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.requests.extend(requests.iter().cloned());
        Ok(requests.iter().map(|m| apply(&mut st, m)).collect())
    }
}

/// The key attributes of a virtual server, for dumping its real servers.
pub fn dest_dump_key(key: &VirtualKey) -> ServiceAttrs {
    service_key(key)
}
