//! Unit tests: codec golden bytes against `include/uapi/linux/ip_vs.h`, the diff, desired
//! state, masquerade scripts and the dataplane over fakes.

mod codec;
mod dataplane;
mod plan;

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};

use super::*;
use crate::model::{Endpoint, Endpoints, Protocol, ServiceModel, ServicePort, ServicePortName};
use crate::nft::FakeNft;

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
pub(super) fn vk(addr: &str, port: u16) -> VirtualKey {
    VirtualKey {
        protocol: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}
pub(super) fn rk(addr: &str, port: u16) -> RealKey {
    RealKey {
        addr: ip(addr),
        port,
    }
}
pub(super) fn rr() -> VirtualSpec {
    VirtualSpec {
        scheduler: "rr".into(),
        persistence: None,
    }
}
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("")
}
pub(super) fn frame(op: &IpvsOp) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&request(op), 0x24, NLM_F_REQUEST | NLM_F_ACK, 7, &mut out);
    out
}
/// A real server with its weight and connection count.
pub(super) type RealEntry = (RealKey, u32, u32);
pub(super) fn programmed(entries: &[(VirtualKey, &[RealEntry])]) -> Programmed {
    entries
        .iter()
        .map(|(k, reals)| {
            (
                *k,
                ProgrammedService {
                    spec: rr(),
                    reals: reals
                        .iter()
                        .map(|(r, weight, connections)| {
                            (
                                *r,
                                RealState {
                                    weight: *weight,
                                    connections: *connections,
                                },
                            )
                        })
                        .collect(),
                },
            )
        })
        .collect()
}
pub(super) fn wanted(entries: &[(VirtualKey, &[RealKey])]) -> DesiredServices {
    entries
        .iter()
        .map(|(k, reals)| {
            (
                *k,
                DesiredService {
                    spec: rr(),
                    reals: reals.iter().copied().collect(),
                },
            )
        })
        .collect()
}
pub(super) fn endpoint(addr: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip(addr),
        port,
        ready: true,
        serving: true,
        terminating: false,
        local: true,
    }
}
pub(super) fn service(name: &str, cluster_ip: &str, endpoints: &[&str]) -> ServicePort {
    let name = ServicePortName {
        namespace: "default".into(),
        name: name.into(),
        port: String::new(),
        protocol: Protocol::Tcp,
    };
    let eps: Endpoints = endpoints.iter().map(|e| endpoint(e, 8080)).collect();
    ServicePort::cluster_ip(name, vec![ip(cluster_ip)], 80, eps)
}
pub(super) fn model(ports: Vec<ServicePort>) -> ServiceModel {
    ServiceModel {
        ports: ports.into_iter().map(|p| (p.name.clone(), p)).collect(),
    }
}
pub(super) type FakePlane = IpvsDataplane<FakeIpvs, FakeVipLink, FakeNft, FakeConntrack>;
pub(super) fn fake_plane(ipvs: &FakeIpvs, link: &FakeVipLink, nft: &FakeNft) -> FakePlane {
    let config = IpvsConfig {
        sysctl_root: None,
        ..IpvsConfig::default()
    };
    IpvsDataplane::with_parts(
        ipvs.clone(),
        link.clone(),
        nft.clone(),
        FakeConntrack::default(),
        config,
    )
}
