//! Facts about the host the server runs on: its primary address, the one other components
//! reach it at when no `--advertise-address` is given (kube-apiserver uses the address of the
//! default route's interface the same way).

use std::net::Ipv4Addr;

/// The IPv4 address of the interface carrying the default route, else the first global IPv4
/// address of any interface; `None` on a host with only loopback.
pub fn primary_ipv4() -> Option<Ipv4Addr> {
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let default_iface = default_route_interface(&routes);
    let addrs: Vec<(String, Ipv4Addr)> = nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|a| {
            let v4 = a.address.as_ref()?.as_sockaddr_in()?.ip();
            Some((a.interface_name, v4))
        })
        .filter(|(_, ip)| !ip.is_loopback() && !ip.is_link_local() && !ip.is_unspecified())
        .collect();
    pick(&addrs, default_iface.as_deref())
}

/// The interface of the first default route in `/proc/net/route` text.
fn default_route_interface(routes: &str) -> Option<String> {
    routes.lines().skip(1).find_map(|line| {
        let mut cols = line.split_whitespace();
        let (iface, dest, mask) = (cols.next()?, cols.next()?, cols.nth(5)?);
        (dest == "00000000" && mask == "00000000").then(|| iface.to_string())
    })
}

fn pick(addrs: &[(String, Ipv4Addr)], default_iface: Option<&str>) -> Option<Ipv4Addr> {
    default_iface
        .and_then(|d| addrs.iter().find(|(i, _)| i == d))
        .or_else(|| addrs.first())
        .map(|(_, ip)| *ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
cni0\t00002A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";

    #[test]
    fn default_route_interface_is_found() {
        assert_eq!(default_route_interface(ROUTES).as_deref(), Some("eth0"));
        assert_eq!(default_route_interface("Iface\tDestination\n"), None);
    }

    #[test]
    fn the_default_route_interface_wins_over_others() {
        let addrs = vec![
            ("cni0".to_string(), Ipv4Addr::new(10, 42, 0, 1)),
            ("eth0".to_string(), Ipv4Addr::new(192, 0, 2, 2)),
        ];
        assert_eq!(
            pick(&addrs, Some("eth0")),
            Some(Ipv4Addr::new(192, 0, 2, 2))
        );
        assert_eq!(pick(&addrs, None), Some(Ipv4Addr::new(10, 42, 0, 1)));
        assert_eq!(pick(&[], Some("eth0")), None);
    }
}
