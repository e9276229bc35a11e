//! `skiff-proxy`'s flags, validated into a [`ProxyConfig`], and the choice of dataplane.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::dataplane::Dataplane;
use crate::model::NodeContext;

/// Which dataplane programs Services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// IPVS over generic netlink, masquerade in nftables.
    Ipvs,
    /// nftables alone (kernels without IPVS).
    Nftables,
}

impl ProxyMode {
    /// The flag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
        }
    }
}

/// The command line, as typed.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "skiff-proxy", about = "Skiff's service proxy")]
pub struct Flags {
    /// Kubeconfig file; default: in-cluster, else ~/.kube/config.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// This node's name (matched against endpoints' nodeName; its Node gives the node IPs).
    #[arg(long = "hostname-override", alias = "node-name")]
    pub hostname_override: Option<String>,
    /// Node addresses where node ports answer, when no node name is given (repeatable).
    #[arg(long = "node-ip")]
    pub node_ip: Vec<String>,
    /// `ipvs` or `nftables`; default: ipvs when the kernel has IPVS, else nftables.
    #[arg(long = "proxy-mode")]
    pub proxy_mode: Option<String>,
    /// IPVS scheduler.
    #[arg(long = "ipvs-scheduler", default_value = "rr")]
    pub ipvs_scheduler: String,
    /// CIDRs of node addresses where node ports answer (comma separated); default: all.
    #[arg(long = "nodeport-addresses", value_delimiter = ',')]
    pub nodeport_addresses: Vec<String>,
    /// The cluster's pod CIDRs (comma separated); traffic from outside them is masqueraded.
    #[arg(long = "cluster-cidr", value_delimiter = ',')]
    pub cluster_cidr: Vec<String>,
    /// Where `/healthz` and `/livez` answer.
    #[arg(long = "healthz-bind-address", default_value = "0.0.0.0:10256")]
    pub healthz_bind_address: String,
    /// Where `/metrics` answers.
    #[arg(long = "metrics-bind-address", default_value = "127.0.0.1:10249")]
    pub metrics_bind_address: String,
    /// Full resync at least this often (`30s`, `1m`).
    #[arg(long = "sync-period", default_value = "30s")]
    pub sync_period: String,
    /// Syncs at least this far apart.
    #[arg(long = "min-sync-period", default_value = "1s")]
    pub min_sync_period: String,
}

/// A bad flag; names it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag's value does not parse or is out of range.
    #[error("--{flag}: {value:?} is not valid: {expected}")]
    BadValue {
        /// The flag, without dashes.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The chosen dataplane could not start.
    #[error("--proxy-mode {mode}: the dataplane cannot start")]
    BackendFailed {
        /// The mode asked for.
        mode: &'static str,
        /// Why.
        #[source]
        source: crate::dataplane::DataplaneError,
    },
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Kubeconfig file, or `None` for kube's inference.
    pub kubeconfig: Option<PathBuf>,
    /// This node's name.
    pub node_name: Option<String>,
    /// Node addresses from flags.
    pub node_ips: Vec<IpAddr>,
    /// The mode asked for; `None` to detect.
    pub mode: Option<ProxyMode>,
    /// IPVS scheduler.
    pub ipvs_scheduler: String,
    /// CIDRs where node ports answer; empty for all.
    pub nodeport_addresses: Vec<IpNet>,
    /// Pod CIDRs.
    pub cluster_cidr: Vec<IpNet>,
    /// Health server address.
    pub healthz_bind_address: SocketAddr,
    /// Metrics server address.
    pub metrics_bind_address: SocketAddr,
    /// Full resync period.
    pub sync_period: Duration,
    /// Minimum time between syncs.
    pub min_sync_period: Duration,
}

const SCHEDULERS: [&str; 10] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq",
];

impl ProxyConfig {
    /// Validates `flags`.
    pub fn from_flags(flags: Flags) -> Result<Self, ConfigError> {
        let mode = flags
            .proxy_mode
            .as_deref()
            .map(|m| match m {
                "ipvs" => Ok(ProxyMode::Ipvs),
                "nftables" => Ok(ProxyMode::Nftables),
                _ => Err(bad("proxy-mode", m, "ipvs or nftables")),
            })
            .transpose()?;
        if !SCHEDULERS.contains(&flags.ipvs_scheduler.as_str()) {
            return Err(bad(
                "ipvs-scheduler",
                &flags.ipvs_scheduler,
                "one of rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq",
            ));
        }
        let node_ips = flags
            .node_ip
            .iter()
            .map(|ip| ip.parse().map_err(|_| bad("node-ip", ip, "an IP address")))
            .collect::<Result<_, _>>()?;
        let cidrs = |flag: &'static str, values: &[String]| {
            values
                .iter()
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<IpNet>()
                        .map_err(|_| bad(flag, v, "a CIDR like 10.42.0.0/16"))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let addr = |flag: &'static str, v: &str| {
            v.parse::<SocketAddr>()
                .map_err(|_| bad(flag, v, "an address and port like 0.0.0.0:10256"))
        };
        let sync_period = parse_duration(&flags.sync_period)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                bad(
                    "sync-period",
                    &flags.sync_period,
                    "a positive duration like 30s",
                )
            })?;
        let min_sync_period = parse_duration(&flags.min_sync_period).ok_or_else(|| {
            bad(
                "min-sync-period",
                &flags.min_sync_period,
                "a duration like 1s",
            )
        })?;
        Ok(Self {
            kubeconfig: flags.kubeconfig,
            node_name: flags.hostname_override.filter(|n| !n.is_empty()),
            node_ips,
            mode,
            ipvs_scheduler: flags.ipvs_scheduler,
            nodeport_addresses: cidrs("nodeport-addresses", &flags.nodeport_addresses)?,
            cluster_cidr: cidrs("cluster-cidr", &flags.cluster_cidr)?,
            healthz_bind_address: addr("healthz-bind-address", &flags.healthz_bind_address)?,
            metrics_bind_address: addr("metrics-bind-address", &flags.metrics_bind_address)?,
            sync_period,
            min_sync_period,
        })
    }

    /// The mode asked for, or what the kernel supports: IPVS when `has_ipvs` says so.
    pub fn resolve_mode(&self, has_ipvs: impl FnOnce() -> bool) -> ProxyMode {
        self.mode.unwrap_or_else(|| {
            if has_ipvs() {
                ProxyMode::Ipvs
            } else {
                ProxyMode::Nftables
            }
        })
    }
}

fn bad(flag: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::BadValue {
        flag,
        value: value.to_string(),
        expected,
    }
}

/// Parses `500ms`, `30s`, `5m`, `1h` (a whole number and one unit); plain numbers are seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        "h" => Some(Duration::from_secs(n.checked_mul(3600)?)),
        _ => None,
    }
}

/// Whether this kernel has IPVS: `/proc/net/ip_vs` exists, or `modprobe ip_vs` loads it.
pub fn kernel_has_ipvs() -> bool {
    let proc = std::path::Path::new("/proc/net/ip_vs");
    if proc.exists() {
        return true;
    }
    let loaded = std::process::Command::new("modprobe")
        .arg("ip_vs")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    loaded && proc.exists()
}

/// The node addresses where node ports answer: `node`'s, narrowed to `--nodeport-addresses`
/// when given.
pub fn nodeport_ips(config: &ProxyConfig, node: &NodeContext) -> Vec<IpAddr> {
    node.node_ips
        .iter()
        .copied()
        .filter(|ip| {
            config.nodeport_addresses.is_empty()
                || config.nodeport_addresses.iter().any(|net| net.contains(ip))
        })
        .collect()
}

/// The dataplane for `mode` on `node`, or [`ConfigError::BackendFailed`] when it cannot start.
pub fn dataplane_for(
    mode: ProxyMode,
    config: &ProxyConfig,
    node: &NodeContext,
) -> Result<Box<dyn Dataplane>, ConfigError> {
    let started = |source| ConfigError::BackendFailed {
        mode: mode.name(),
        source,
    };
    match mode {
        ProxyMode::Nftables => {
            let nft = crate::nft::NftConfig {
                cluster_cidrs: config.cluster_cidr.clone(),
                ..crate::nft::NftConfig::default()
            };
            Ok(Box::new(
                crate::nft::NftDataplane::new(nft).map_err(started)?,
            ))
        }
        ProxyMode::Ipvs => {
            let ipvs = crate::ipvs::IpvsConfig {
                scheduler: config.ipvs_scheduler.clone(),
                node_ips: nodeport_ips(config, node),
                cluster_cidrs: config.cluster_cidr.clone(),
                ..crate::ipvs::IpvsConfig::default()
            };
            Ok(Box::new(
                crate::ipvs::IpvsDataplane::new(ipvs).map_err(started)?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> Result<ProxyConfig, ConfigError> {
        let mut argv = vec!["skiff-proxy"];
        argv.extend_from_slice(args);
        ProxyConfig::from_flags(Flags::try_parse_from(argv).expect("clap parse"))
    }

    #[test]
    fn defaults_are_kube_proxy_s() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.healthz_bind_address.to_string(), "0.0.0.0:10256");
        assert_eq!(c.metrics_bind_address.to_string(), "127.0.0.1:10249");
        assert_eq!(c.sync_period, Duration::from_secs(30));
        assert_eq!(c.min_sync_period, Duration::from_secs(1));
        assert_eq!(c.ipvs_scheduler, "rr");
        assert_eq!((c.mode, c.node_name, c.kubeconfig), (None, None, None));
    }

    #[test]
    fn every_flag_is_parsed() {
        let c = parse(&[
            "--kubeconfig=/etc/skiff/proxy.kubeconfig",
            "--hostname-override=node-a",
            "--proxy-mode=nftables",
            "--ipvs-scheduler=wrr",
            "--nodeport-addresses=192.168.1.0/24,fd00::/64",
            "--cluster-cidr=10.42.0.0/16",
            "--healthz-bind-address=127.0.0.1:20256",
            "--metrics-bind-address=127.0.0.1:20249",
            "--sync-period=1m",
            "--min-sync-period=250ms",
            "--node-ip=192.168.1.10",
        ])
        .unwrap();
        assert_eq!(c.mode, Some(ProxyMode::Nftables));
        assert_eq!(c.node_name.as_deref(), Some("node-a"));
        assert_eq!(c.nodeport_addresses.len(), 2);
        assert_eq!(c.cluster_cidr[0].to_string(), "10.42.0.0/16");
        assert_eq!(c.sync_period, Duration::from_secs(60));
        assert_eq!(c.min_sync_period, Duration::from_millis(250));
        assert_eq!(c.node_ips[0].to_string(), "192.168.1.10");
    }

    #[test]
    fn bad_values_name_their_flag() {
        for (args, flag) in [
            (&["--proxy-mode=iptables"][..], "--proxy-mode"),
            (&["--ipvs-scheduler=fifo"], "--ipvs-scheduler"),
            (&["--cluster-cidr=10.42.0.0"], "--cluster-cidr"),
            (&["--nodeport-addresses=x"], "--nodeport-addresses"),
            (&["--healthz-bind-address=10256"], "--healthz-bind-address"),
            (
                &["--metrics-bind-address=localhost"],
                "--metrics-bind-address",
            ),
            (&["--sync-period=0s"], "--sync-period"),
            (&["--min-sync-period=soon"], "--min-sync-period"),
            (&["--node-ip=node"], "--node-ip"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.starts_with(flag), "{args:?}: {err}");
        }
    }

    #[test]
    fn mode_is_detected_only_when_not_given() {
        let auto = parse(&[]).unwrap();
        assert_eq!(auto.resolve_mode(|| true), ProxyMode::Ipvs);
        assert_eq!(auto.resolve_mode(|| false), ProxyMode::Nftables);
        let given = parse(&["--proxy-mode=ipvs"]).unwrap();
        assert_eq!(given.resolve_mode(|| false), ProxyMode::Ipvs);
    }

    #[test]
    fn nodeport_addresses_narrow_the_node_ips() {
        let node = NodeContext {
            name: "n".into(),
            node_ips: vec!["192.168.1.10".parse().unwrap(), "10.0.0.5".parse().unwrap()],
        };
        let all = parse(&[]).unwrap();
        assert_eq!(nodeport_ips(&all, &node), node.node_ips);
        let narrowed = parse(&["--nodeport-addresses=10.0.0.0/8"]).unwrap();
        let got: Vec<String> = nodeport_ips(&narrowed, &node)
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(got, ["10.0.0.5"]);
    }

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("15"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("1m30s"), None);
    }
}
