//! The `ipam` section of a network configuration, parsed strictly and validated into
//! [`IpamConfig`] with host-local's defaults. Fields outside `ipam` are tolerated: a bridge
//! plugin passes its whole configuration to IPAM.

use super::range::{Range, RangeSet};
use crate::error::{from_json_error, CniError, Code};
use crate::types::Route;
use ipnet::IpNet;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::PathBuf;

/// Where host-local keeps allocations unless `dataDir` says otherwise.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/networks";

/// A validated IPAM configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpamConfig {
    /// The network name (the directory under `data_dir`).
    pub name: String,
    /// The directory holding one directory per network.
    pub data_dir: PathBuf,
    /// Range sets; ADD takes one address from each.
    pub range_sets: Vec<RangeSet>,
    /// Routes returned in the result.
    pub routes: Vec<Route>,
    /// A resolv.conf-style file whose settings go into the result's `dns`.
    pub resolv_conf: Option<PathBuf>,
}

/// A configuration problem, naming the field (`ipam.ranges[0][1].rangeStart`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The network has no name usable as a directory.
    #[error("name {0:?} is not usable as a directory name")]
    BadName(String),
    /// No range at all.
    #[error("ipam.ranges: no address range is configured (set ipam.ranges or ipam.subnet)")]
    NoRanges,
    /// A range set with no range.
    #[error("{field} is empty: a range set needs at least one range")]
    EmptyRangeSet {
        /// The range set's field path.
        field: String,
    },
    /// A field that needs another one.
    #[error("{field} needs {needs}")]
    Needs {
        /// The field given.
        field: String,
        /// The field missing.
        needs: String,
    },
    /// A subnet that does not parse.
    #[error("{field} {value:?} is not a subnet in CIDR notation")]
    BadSubnet {
        /// The field.
        field: String,
        /// What it holds.
        value: String,
    },
    /// An address that does not parse.
    #[error("{field} {value:?} is not an IP address")]
    BadAddress {
        /// The field.
        field: String,
        /// What it holds.
        value: String,
    },
    /// A subnet with no address to hand out (/31, /32, /127, /128).
    #[error("{field} {subnet} is too small to allocate from")]
    SubnetTooSmall {
        /// The field.
        field: String,
        /// The subnet.
        subnet: IpNet,
    },
    /// An address outside its range's subnet (or of the other family).
    #[error("{field} {ip} is not in subnet {subnet}")]
    OutsideSubnet {
        /// The field.
        field: String,
        /// The address.
        ip: IpAddr,
        /// The subnet.
        subnet: IpNet,
    },
    /// `rangeStart` after `rangeEnd`.
    #[error("{field} {start} is after rangeEnd {end}")]
    StartAfterEnd {
        /// The `rangeStart` field.
        field: String,
        /// Start.
        start: IpAddr,
        /// End.
        end: IpAddr,
    },
    /// IPv4 and IPv6 ranges in one range set.
    #[error("{field} {subnet} is not of the same IP family as the first range of its range set")]
    MixedFamilies {
        /// The subnet field of the odd range.
        field: String,
        /// Its subnet.
        subnet: IpNet,
    },
    /// Two ranges sharing addresses.
    #[error("{first} ({first_range}) overlaps {second} ({second_range})")]
    Overlap {
        /// The first range's field path.
        first: String,
        /// Its interval.
        first_range: String,
        /// The second range's field path.
        second: String,
        /// Its interval.
        second_range: String,
    },
    /// A route destination that does not parse.
    #[error("{field} {value:?} is not a destination in CIDR notation")]
    BadRouteDst {
        /// The field.
        field: String,
        /// What it holds.
        value: String,
    },
}

impl From<ConfigError> for CniError {
    fn from(e: ConfigError) -> Self {
        CniError::new(Code::InvalidConfig, e.to_string())
    }
}

#[derive(Deserialize)]
struct NetConf {
    name: String,
    ipam: Option<RawIpam>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawIpam {
    #[serde(rename = "type")]
    _kind: Option<String>,
    #[serde(default)]
    ranges: Vec<Vec<RawRange>>,
    subnet: Option<String>,
    range_start: Option<String>,
    range_end: Option<String>,
    gateway: Option<String>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    data_dir: Option<PathBuf>,
    resolv_conf: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRange {
    subnet: String,
    range_start: Option<String>,
    range_end: Option<String>,
    gateway: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    dst: String,
    gw: Option<String>,
}

impl IpamConfig {
    /// Parses and validates the configuration given on stdin.
    pub fn from_stdin(stdin: &[u8]) -> Result<Self, CniError> {
        let conf: NetConf = serde_json::from_slice(stdin)
            .map_err(|e| from_json_error("network configuration", &e))?;
        let ipam = conf.ipam.ok_or_else(|| {
            CniError::new(
                Code::InvalidConfig,
                "ipam: the network configuration has no ipam section",
            )
        })?;
        Ok(validate(conf.name, ipam)?)
    }
}

fn validate(name: String, ipam: RawIpam) -> Result<IpamConfig, ConfigError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(ConfigError::BadName(name));
    }
    let mut labelled: Vec<Vec<(String, RawRange)>> = Vec::new();
    match ipam.subnet {
        Some(subnet) => labelled.push(vec![(
            "ipam".to_string(),
            RawRange {
                subnet,
                range_start: ipam.range_start,
                range_end: ipam.range_end,
                gateway: ipam.gateway,
            },
        )]),
        None => {
            let given = [
                ("rangeStart", &ipam.range_start),
                ("rangeEnd", &ipam.range_end),
                ("gateway", &ipam.gateway),
            ];
            if let Some((f, _)) = given.iter().find(|(_, v)| v.is_some()) {
                return Err(ConfigError::Needs {
                    field: format!("ipam.{f}"),
                    needs: "ipam.subnet".into(),
                });
            }
        }
    }
    for (i, set) in ipam.ranges.into_iter().enumerate() {
        labelled.push(
            set.into_iter()
                .enumerate()
                .map(|(j, r)| (format!("ipam.ranges[{i}][{j}]"), r))
                .collect(),
        );
    }
    if labelled.is_empty() {
        return Err(ConfigError::NoRanges);
    }
    let mut range_sets = Vec::new();
    let mut all: Vec<(String, Range)> = Vec::new();
    for (i, set) in labelled.into_iter().enumerate() {
        if set.is_empty() {
            return Err(ConfigError::EmptyRangeSet {
                field: format!("ipam.ranges[{}]", i),
            });
        }
        let mut ranges: Vec<Range> = Vec::new();
        for (label, raw) in set {
            let range = validate_range(&label, raw)?;
            if let Some(first) = ranges.first() {
                if first.subnet.addr().is_ipv4() != range.subnet.addr().is_ipv4() {
                    return Err(ConfigError::MixedFamilies {
                        field: format!("{label}.subnet"),
                        subnet: range.subnet,
                    });
                }
            }
            if let Some((other, r)) = all.iter().find(|(_, r)| r.overlaps(&range)) {
                return Err(ConfigError::Overlap {
                    first: other.clone(),
                    first_range: r.to_string(),
                    second: label,
                    second_range: range.to_string(),
                });
            }
            all.push((label, range.clone()));
            ranges.push(range);
        }
        range_sets.push(RangeSet { ranges });
    }
    let routes = ipam
        .routes
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let dst = r
                .dst
                .parse::<IpNet>()
                .map_err(|_| ConfigError::BadRouteDst {
                    field: format!("ipam.routes[{i}].dst"),
                    value: r.dst.clone(),
                })?;
            let gw =
                r.gw.map(|g| parse_ip(&format!("ipam.routes[{i}].gw"), &g))
                    .transpose()?;
            Ok(Route::new(dst, gw))
        })
        .collect::<Result<_, ConfigError>>()?;
    Ok(IpamConfig {
        name,
        data_dir: ipam
            .data_dir
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
        range_sets,
        routes,
        resolv_conf: ipam.resolv_conf.filter(|p| !p.as_os_str().is_empty()),
    })
}

fn parse_ip(field: &str, value: &str) -> Result<IpAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::BadAddress {
        field: field.to_string(),
        value: value.to_string(),
    })
}

fn validate_range(label: &str, raw: RawRange) -> Result<Range, ConfigError> {
    let subnet: IpNet = raw.subnet.parse().map_err(|_| ConfigError::BadSubnet {
        field: format!("{label}.subnet"),
        value: raw.subnet.clone(),
    })?;
    let subnet = subnet.trunc();
    if subnet.prefix_len() + 2 > subnet.max_prefix_len() {
        return Err(ConfigError::SubnetTooSmall {
            field: format!("{label}.subnet"),
            subnet,
        });
    }
    let mut range = Range::with_defaults(subnet);
    let inside = |name: &str, value: &Option<String>| -> Result<Option<IpAddr>, ConfigError> {
        let field = format!("{label}.{name}");
        let Some(v) = value else { return Ok(None) };
        let ip = parse_ip(&field, v)?;
        if !subnet.contains(&ip) {
            return Err(ConfigError::OutsideSubnet { field, ip, subnet });
        }
        Ok(Some(ip))
    };
    if let Some(gw) = inside("gateway", &raw.gateway)? {
        range.gateway = gw;
    }
    if let Some(start) = inside("rangeStart", &raw.range_start)? {
        range.start = start;
    }
    if let Some(end) = inside("rangeEnd", &raw.range_end)? {
        range.end = end;
    }
    if range.start > range.end {
        return Err(ConfigError::StartAfterEnd {
            field: format!("{label}.rangeStart"),
            start: range.start,
            end: range.end,
        });
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(ipam: serde_json::Value) -> Result<IpamConfig, CniError> {
        let conf = json!({"cniVersion": "1.0.0", "name": "net", "type": "bridge", "ipam": ipam});
        IpamConfig::from_stdin(conf.to_string().as_bytes())
    }

    fn err(ipam: serde_json::Value) -> CniError {
        parse(ipam).unwrap_err()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn legacy_subnet_gets_host_local_defaults() {
        let c = parse(json!({"type": "host-local", "subnet": "10.22.0.0/16"})).unwrap();
        let r = &c.range_sets[0].ranges[0];
        assert_eq!(
            (r.start, r.end, r.gateway),
            (ip("10.22.0.1"), ip("10.22.255.254"), ip("10.22.0.1"))
        );
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.name, "net");
    }

    #[test]
    fn legacy_range_comes_before_ranges() {
        let c = parse(json!({
            "subnet": "10.1.0.0/24",
            "ranges": [[{"subnet": "fd00::/64", "gateway": "fd00::fe"}]],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00::fe"}],
            "dataDir": "/tmp/x", "resolvConf": "/etc/resolv.conf"
        }))
        .unwrap();
        assert_eq!(c.range_sets.len(), 2);
        assert_eq!(c.range_sets[0].ranges[0].subnet.to_string(), "10.1.0.0/24");
        assert_eq!(c.range_sets[1].ranges[0].gateway, ip("fd00::fe"));
        assert_eq!(
            c.range_sets[1].ranges[0].end,
            ip("fd00::ffff:ffff:ffff:ffff")
        );
        assert_eq!(c.routes[1].gw, Some(ip("fd00::fe")));
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn top_level_fields_of_the_caller_are_tolerated() {
        let conf = json!({"cniVersion": "1.0.0", "name": "n", "type": "bridge", "bridge": "cni0",
            "isGateway": true, "runtimeConfig": {"ips": []}, "prevResult": {},
            "ipam": {"type": "skiff-host-local", "subnet": "10.0.0.0/24"}});
        assert!(IpamConfig::from_stdin(conf.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn unknown_field_inside_ipam_is_code_2_naming_it() {
        let e = err(json!({"subnet": "10.0.0.0/24", "bogus": 1}));
        assert!(e.is(Code::UnsupportedField), "{e:?}");
        assert!(e.msg.contains("bogus"), "{e}");
        let e = err(json!({"ranges": [[{"subnet": "10.0.0.0/24", "rangeFoo": "x"}]]}));
        assert!(
            e.is(Code::UnsupportedField) && e.msg.contains("rangeFoo"),
            "{e}"
        );
    }

    fn assert_names(ipam: serde_json::Value, field: &str) {
        let e = err(ipam);
        assert!(e.is(Code::InvalidConfig), "{e:?}");
        assert!(e.msg.contains(field), "{field} not named in {e}");
    }

    #[test]
    fn each_invalid_value_names_its_field() {
        assert_names(
            json!({"ranges": [[{"subnet": "10.0.0.0"}]]}),
            "ipam.ranges[0][0].subnet",
        );
        assert_names(json!({"subnet": "nope/8"}), "ipam.subnet");
        assert_names(json!({"subnet": "10.0.0.0/31"}), "ipam.subnet");
        assert_names(json!({"subnet": "10.0.0.0/32"}), "ipam.subnet");
        assert_names(
            json!({"ranges": [[{"subnet": "fd00::/127"}]]}),
            "ranges[0][0].subnet",
        );
        assert_names(
            json!({"ranges": [[{"subnet": "fd00::/128"}]]}),
            "ranges[0][0].subnet",
        );
        assert_names(
            json!({"subnet": "10.0.0.0/24", "rangeStart": "10.0.1.5"}),
            "ipam.rangeStart",
        );
        assert_names(
            json!({"subnet": "10.0.0.0/24", "rangeEnd": "fd00::1"}),
            "ipam.rangeEnd",
        );
        assert_names(
            json!({"subnet": "10.0.0.0/24", "gateway": "10.9.0.1"}),
            "ipam.gateway",
        );
        assert_names(
            json!({"subnet": "10.0.0.0/24", "gateway": "x"}),
            "ipam.gateway",
        );
        assert_names(
            json!({"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.9", "rangeEnd": "10.0.0.5"}),
            "ipam.rangeStart",
        );
        assert_names(json!({"rangeStart": "10.0.0.9"}), "ipam.rangeStart");
        assert_names(json!({}), "ipam.ranges");
        assert_names(json!({"ranges": [[]]}), "ipam.ranges[0]");
        assert_names(
            json!({"subnet": "10.0.0.0/24", "routes": [{"dst": "default"}]}),
            "ipam.routes[0].dst",
        );
        assert_names(
            json!({"ranges": [[{"subnet": "10.0.0.0/24"}, {"subnet": "fd00::/64"}]]}),
            "ipam.ranges[0][1].subnet",
        );
    }

    #[test]
    fn overlapping_ranges_name_both() {
        let e = err(json!({"ranges": [[{"subnet": "10.0.0.0/24"}, {"subnet": "10.0.0.128/25"}]]}));
        assert!(
            e.msg.contains("ipam.ranges[0][0]") && e.msg.contains("ipam.ranges[0][1]"),
            "{e}"
        );
        let e = err(json!({"ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "10.0.0.0/16"}]]}));
        assert!(
            e.msg.contains("ipam.ranges[0][0]") && e.msg.contains("ipam.ranges[1][0]"),
            "{e}"
        );
        // Disjoint intervals of one subnet do not overlap.
        let ok = parse(json!({"ranges": [[
            {"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.2", "rangeEnd": "10.0.0.100"},
            {"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.101", "rangeEnd": "10.0.0.200"}]]}));
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn missing_ipam_and_bad_name_are_rejected() {
        let e = IpamConfig::from_stdin(br#"{"cniVersion":"1.0.0","name":"n"}"#).unwrap_err();
        assert!(e.msg.contains("ipam"), "{e}");
        let conf = json!({"name": "../etc", "ipam": {"subnet": "10.0.0.0/24"}}).to_string();
        let e = IpamConfig::from_stdin(conf.as_bytes()).unwrap_err();
        assert!(e.msg.contains("name"), "{e}");
    }
}
