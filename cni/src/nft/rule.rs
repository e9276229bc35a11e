//! The rules of an attachment chain as values: built from [`AttachmentRules`], printed as nft
//! text, and read back from libnftables' JSON listing so CHECK and DEL compare like with like.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde_json::Value;

use super::naming::Family;
use super::{AttachmentRules, MacSpoof};

/// What a match looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// `ip saddr`.
    IpSaddr,
    /// `ip daddr`.
    IpDaddr,
    /// `ip6 saddr`.
    Ip6Saddr,
    /// `ip6 daddr`.
    Ip6Daddr,
    /// `iifname`.
    Iifname,
    /// `ether saddr`.
    EtherSaddr,
}

/// The value a match compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchValue {
    /// One address.
    Addr(IpAddr),
    /// A prefix (printed as a bare address when it is a host prefix, as nft does).
    Net(IpNet),
    /// An interface name.
    Name(String),
    /// A MAC address.
    Mac([u8; 6]),
}

/// One `selector [!=] value` match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// What is matched.
    pub selector: Selector,
    /// `!=` instead of `==`.
    pub negated: bool,
    /// Compared with.
    pub value: MatchValue,
}

/// The final statement of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `masquerade`.
    Masquerade,
}

/// One rule of an attachment chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Matches, all of which must hold.
    pub matches: Vec<Match>,
    /// What happens then.
    pub verdict: Verdict,
}

impl Rule {
    /// The source address this rule is about (`ip saddr` / `ip6 saddr`), if any.
    pub fn saddr(&self) -> Option<IpAddr> {
        self.matches
            .iter()
            .find_map(|m| match (&m.selector, &m.value) {
                (Selector::IpSaddr | Selector::Ip6Saddr, MatchValue::Addr(a)) if !m.negated => {
                    Some(*a)
                }
                _ => None,
            })
    }

    /// The input interface this rule is about (`iifname`), if any.
    pub fn iifname(&self) -> Option<&str> {
        self.matches
            .iter()
            .find_map(|m| match (&m.selector, &m.value) {
                (Selector::Iifname, MatchValue::Name(n)) if !m.negated => Some(n.as_str()),
                _ => None,
            })
    }

    /// Reads a rule from the `expr` array of a JSON listing; `None` for anything this module
    /// never writes.
    pub fn from_json(expr: &Value) -> Option<Rule> {
        let items = expr.as_array()?;
        let (last, matches) = items.split_last()?;
        let verdict = match last.as_object()?.keys().next()?.as_str() {
            "accept" => Verdict::Accept,
            "drop" => Verdict::Drop,
            "masquerade" => Verdict::Masquerade,
            _ => return None,
        };
        let matches = matches.iter().map(match_from_json).collect::<Option<_>>()?;
        Some(Rule { matches, verdict })
    }
}

fn match_from_json(item: &Value) -> Option<Match> {
    let m = item.get("match")?;
    let negated = match m.get("op")?.as_str()? {
        "==" => false,
        "!=" => true,
        _ => return None,
    };
    let left = m.get("left")?;
    let selector = if let Some(p) = left.get("payload") {
        match (p.get("protocol")?.as_str()?, p.get("field")?.as_str()?) {
            ("ip", "saddr") => Selector::IpSaddr,
            ("ip", "daddr") => Selector::IpDaddr,
            ("ip6", "saddr") => Selector::Ip6Saddr,
            ("ip6", "daddr") => Selector::Ip6Daddr,
            ("ether", "saddr") => Selector::EtherSaddr,
            _ => return None,
        }
    } else if left.get("meta")?.get("key")?.as_str()? == "iifname" {
        Selector::Iifname
    } else {
        return None;
    };
    let right = m.get("right")?;
    let value = match selector {
        Selector::IpSaddr | Selector::Ip6Saddr => MatchValue::Addr(right.as_str()?.parse().ok()?),
        Selector::IpDaddr | Selector::Ip6Daddr => MatchValue::Net(net_from_json(right)?),
        Selector::Iifname => MatchValue::Name(right.as_str()?.to_string()),
        Selector::EtherSaddr => MatchValue::Mac(parse_mac(right.as_str()?)?),
    };
    Some(Match {
        selector,
        negated,
        value,
    })
}

fn net_from_json(v: &Value) -> Option<IpNet> {
    if let Some(s) = v.as_str() {
        return Some(IpNet::from(s.parse::<IpAddr>().ok()?));
    }
    let p = v.get("prefix")?;
    let addr: IpAddr = p.get("addr")?.as_str()?.parse().ok()?;
    IpNet::new(addr, u8::try_from(p.get("len")?.as_u64()?).ok()?).ok()
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The rules the chain of an attachment holds in `family`, in order.
pub fn expected_rules(rules: &AttachmentRules, family: Family) -> Vec<Rule> {
    match family {
        Family::Inet => rules.masquerade.iter().flat_map(masquerade_rules).collect(),
        Family::Bridge => rules.macspoof.iter().map(macspoof_rule).collect(),
    }
}

/// `ip saddr A ip daddr S accept` and `ip saddr A ip daddr != <multicast> masquerade`.
fn masquerade_rules(net: &IpNet) -> [Rule; 2] {
    let (saddr, daddr, multicast) = match net {
        IpNet::V4(_) => (
            Selector::IpSaddr,
            Selector::IpDaddr,
            IpNet::new(Ipv4Addr::new(224, 0, 0, 0).into(), 4),
        ),
        IpNet::V6(_) => (
            Selector::Ip6Saddr,
            Selector::Ip6Daddr,
            IpNet::new(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0).into(), 8),
        ),
    };
    let multicast = multicast.expect("constant prefix is valid");
    let from = Match {
        selector: saddr,
        negated: false,
        value: MatchValue::Addr(net.addr()),
    };
    let to = |negated, net| Match {
        selector: daddr,
        negated,
        value: MatchValue::Net(net),
    };
    [
        Rule {
            matches: vec![from.clone(), to(false, net.trunc())],
            verdict: Verdict::Accept,
        },
        Rule {
            matches: vec![from, to(true, multicast)],
            verdict: Verdict::Masquerade,
        },
    ]
}

/// `iifname "<veth>" ether saddr != <mac> drop`.
fn macspoof_rule(m: &MacSpoof) -> Rule {
    Rule {
        matches: vec![
            Match {
                selector: Selector::Iifname,
                negated: false,
                value: MatchValue::Name(m.host_ifname.clone()),
            },
            Match {
                selector: Selector::EtherSaddr,
                negated: true,
                value: MatchValue::Mac(m.mac),
            },
        ],
        verdict: Verdict::Drop,
    }
}

/// Whether `name` is an interface name that can be written into a script verbatim (quoted).
pub fn is_safe_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.@+".contains(&b))
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Selector::IpSaddr => "ip saddr",
            Selector::IpDaddr => "ip daddr",
            Selector::Ip6Saddr => "ip6 saddr",
            Selector::Ip6Daddr => "ip6 daddr",
            Selector::Iifname => "iifname",
            Selector::EtherSaddr => "ether saddr",
        })
    }
}

impl fmt::Display for MatchValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchValue::Addr(a) => write!(f, "{a}"),
            MatchValue::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr()),
            MatchValue::Net(n) => write!(f, "{n}"),
            MatchValue::Name(n) => write!(f, "\"{n}\""),
            MatchValue::Mac(m) => write!(f, "{}", format_mac(m)),
        }
    }
}

/// `aa:bb:cc:dd:ee:ff`, lower case as nft prints it.
pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.matches {
            let op = if m.negated { "!= " } else { "" };
            write!(f, "{} {op}{} ", m.selector, m.value)?;
        }
        f.write_str(match self.verdict {
            Verdict::Accept => "accept",
            Verdict::Drop => "drop",
            Verdict::Masquerade => "masquerade",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AttachmentRules {
        AttachmentRules {
            masquerade: vec![
                "10.88.0.5/16".parse().unwrap(),
                "fd00::5/64".parse().unwrap(),
            ],
            macspoof: Some(MacSpoof {
                host_ifname: "veth1234".into(),
                mac: [2, 0, 0, 0, 0, 0xab],
            }),
        }
    }

    #[test]
    fn expected_rules_print_as_nft_text() {
        let text: Vec<String> = Family::ALL
            .iter()
            .flat_map(|f| expected_rules(&rules(), *f))
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            text,
            [
                "ip saddr 10.88.0.5 ip daddr 10.88.0.0/16 accept",
                "ip saddr 10.88.0.5 ip daddr != 224.0.0.0/4 masquerade",
                "ip6 saddr fd00::5 ip6 daddr fd00::/64 accept",
                "ip6 saddr fd00::5 ip6 daddr != ff00::/8 masquerade",
                "iifname \"veth1234\" ether saddr != 02:00:00:00:00:ab drop",
            ]
        );
    }

    #[test]
    fn json_listing_reads_back_to_the_same_rules() {
        let listed: Value = serde_json::from_str(
            r#"[
            [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.88.0.5"}},
             {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.88.0.0", "len": 16}}}},
             {"accept": null}],
            [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.88.0.5"}},
             {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "224.0.0.0", "len": 4}}}},
             {"masquerade": null}],
            [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": "fd00::5"}},
             {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": {"prefix": {"addr": "fd00::", "len": 64}}}},
             {"accept": null}],
            [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": "fd00::5"}},
             {"match": {"op": "!=", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": {"prefix": {"addr": "ff00::", "len": 8}}}},
             {"masquerade": null}],
            [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "veth1234"}},
             {"match": {"op": "!=", "left": {"payload": {"protocol": "ether", "field": "saddr"}}, "right": "02:00:00:00:00:ab"}},
             {"drop": null}]
            ]"#,
        )
        .unwrap();
        let read: Vec<Rule> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Rule::from_json(e).expect("recognised"))
            .collect();
        let mut want = expected_rules(&rules(), Family::Inet);
        want.extend(expected_rules(&rules(), Family::Bridge));
        assert_eq!(read, want);
        assert_eq!(read[0].saddr(), Some("10.88.0.5".parse().unwrap()));
        assert_eq!(read[4].iifname(), Some("veth1234"));
    }

    #[test]
    fn host_prefix_reads_back_from_a_bare_address() {
        let r = AttachmentRules {
            masquerade: vec!["10.1.2.3/32".parse().unwrap()],
            macspoof: None,
        };
        let rule = &expected_rules(&r, Family::Inet)[0];
        assert_eq!(
            rule.to_string(),
            "ip saddr 10.1.2.3 ip daddr 10.1.2.3 accept"
        );
        let json: Value = serde_json::from_str(
            r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.1.2.3"}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.1.2.3"}},
                {"accept": null}]"#,
        )
        .unwrap();
        assert_eq!(Rule::from_json(&json).as_ref(), Some(rule));
    }

    #[test]
    fn foreign_statements_are_not_recognised() {
        let json: Value =
            serde_json::from_str(r#"[{"counter": {"packets": 0, "bytes": 0}}, {"accept": null}]"#)
                .unwrap();
        assert_eq!(Rule::from_json(&json), None);
    }

    #[test]
    fn unsafe_interface_names_are_refused() {
        assert!(is_safe_ifname("veth0a1b2c3d"));
        assert!(!is_safe_ifname("a\"; flush ruleset"));
        assert!(!is_safe_ifname(""));
        assert!(!is_safe_ifname("sixteen-chars-xx"));
    }
}
