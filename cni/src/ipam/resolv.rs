//! Reads a resolv.conf-style file into a result's DNS settings, as host-local does.

use crate::types::Dns;

/// Parses `nameserver`, `domain`, `search` and `options` lines; comments start with `#` or `;`.
pub fn parse(text: &str) -> Dns {
    let mut dns = Dns::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(key) = words.next() else { continue };
        let rest: Vec<String> = words.map(str::to_string).collect();
        match key {
            "nameserver" => dns.nameservers.extend(rest.into_iter().take(1)),
            "domain" => dns.domain = rest.into_iter().next().unwrap_or_default(),
            "search" => dns.search = rest,
            "options" => dns.options.extend(rest),
            _ => {}
        }
    }
    dns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_setting_and_skips_comments() {
        let dns = parse(
            "# generated\nnameserver 10.43.0.10\nnameserver fd00::a\n; x\ndomain cluster.local\n\
             search a.svc b.svc\noptions ndots:5 edns0\nsortlist 10.0.0.0\n",
        );
        assert_eq!(dns.nameservers, ["10.43.0.10", "fd00::a"]);
        assert_eq!(dns.domain, "cluster.local");
        assert_eq!(dns.search, ["a.svc", "b.svc"]);
        assert_eq!(dns.options, ["ndots:5", "edns0"]);
    }
}
