//! The character-level grammar of image references, as `distribution/reference`'s regexp.go
//! defines it, written as plain predicates.

/// Longest allowed name (registry, `/` and repository path), in bytes.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Longest allowed tag, in bytes.
pub const TAG_LENGTH_MAX: usize = 128;

/// `[a-z0-9]`: the only characters path components are built from.
fn is_path_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// A registry host with optional port: a DNS-like name (`[a-zA-Z0-9]` components joined by
/// `.`, inner `-` allowed) or a bracketed IPv6 address (hex digits and `:` only), then
/// optionally `:` and decimal digits.
pub fn is_valid_domain(domain: &str) -> bool {
    let port = if let Some(rest) = domain.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return false;
        };
        if address.is_empty() || !address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        after
    } else {
        let (host, port) = match domain.find(':') {
            Some(i) => domain.split_at(i),
            None => (domain, ""),
        };
        if !host.split('.').all(is_valid_domain_component) {
            return false;
        }
        port
    };
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_valid_domain_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// `[a-z0-9]+` runs joined by exactly one separator each: `.`, `_`, `__` or any number of `-`.
pub fn is_valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) if is_path_alnum(first) && is_path_alnum(last) => {}
        _ => return false,
    }
    let mut i = 0;
    while i < bytes.len() {
        if is_path_alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_path_alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let allowed = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !allowed {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`: word characters, dots and dashes, not starting with a dot or dash.
pub fn is_valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    match bytes.first() {
        Some(&first) if word(first) => {}
        _ => return false,
    }
    bytes.len() <= TAG_LENGTH_MAX && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[a-f0-9]{64}`: an image ID, which must not be mistaken for a repository name.
pub fn is_hex_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_follow_the_host_and_port_grammar() {
        for ok in [
            "docker.io",
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "test-com:8080",
            "xn--n3h.com:18080",
            "Foo",
            "sub-dom1.foo.com",
            "[::1]:5000",
            "[2001:db8::1]",
            "[fc00:1:2:3:4:5:6:7]:5000",
        ] {
            assert!(is_valid_domain(ok), "{ok:?} should be a valid domain");
        }
        for bad in [
            "",
            "-docker.io",
            "docker-.io",
            "docker..io",
            "foo_bar.com",
            "host:",
            "host:port",
            "host:50:00",
            "[]:5000",
            "[fe80::1%eth0]:5000",
            "[2001:db8:3:4::192.0.2.33]:5000",
            "[::1]5000",
            "[::1",
            "fc00::1:5000",
        ] {
            assert!(
                !is_valid_domain(bad),
                "{bad:?} should not be a valid domain"
            );
        }
    }

    #[test]
    fn path_components_allow_single_dot_one_or_two_underscores_and_dash_runs() {
        for ok in [
            "a",
            "docker",
            "dock__er",
            "docker---rules",
            "ubuntu-12.04-base",
            "a_b.c-d",
        ] {
            assert!(is_valid_path_component(ok), "{ok:?} should be valid");
        }
        for bad in [
            "",
            "-docker",
            "docker-",
            "_docker",
            "____",
            "dock..er",
            "dock_.er",
            "dock-.er",
            "dock___er",
            "Docker",
            "asdf$$^",
            "caf\u{e9}",
        ] {
            assert!(!is_valid_path_component(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn tags_are_word_characters_dots_and_dashes_up_to_128() {
        let longest = "a".repeat(TAG_LENGTH_MAX);
        for ok in [
            "latest",
            "1.36",
            "Uppercase",
            "_under",
            "xn--n3h.com",
            longest.as_str(),
        ] {
            assert!(is_valid_tag(ok), "{ok:?} should be valid");
        }
        let too_long = "a".repeat(TAG_LENGTH_MAX + 1);
        for bad in ["", "-foo", ".foo", "a:b", "a/b", "a+b", too_long.as_str()] {
            assert!(!is_valid_tag(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn hex_identifier_is_exactly_64_lowercase_hex() {
        assert!(is_hex_identifier(&"a1".repeat(32)));
        assert!(!is_hex_identifier(&"a1".repeat(31)));
        assert!(!is_hex_identifier(&"A1".repeat(32)));
        assert!(!is_hex_identifier(
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"
        ));
    }
}
