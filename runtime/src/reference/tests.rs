//! Cases mostly taken from `distribution/reference`'s reference_test.go and normalize_test.go.

use super::*;

const SHA256_F: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const BUSYBOX_DIGEST: &str =
    "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
const HEX_ID: &str = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";

fn parse(input: &str) -> ImageReference {
    ImageReference::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
}

fn parse_err(input: &str) -> ReferenceError {
    match ImageReference::parse(input) {
        Ok(r) => panic!("{input:?} should be rejected, parsed as {r}"),
        Err(e) => e,
    }
}

#[test]
fn familiar_names_normalise_to_full_docker_hub_references() {
    // (input, full normalised form, familiar form)
    let cases = [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/fooo/bar", "docker.io/fooo/bar:latest", "fooo/bar:latest"),
        ("library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"),
        ("nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu:latest", "nonlibrary/ubuntu:latest"),
        ("other/library", "docker.io/other/library:latest", "other/library:latest"),
        ("library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest"),
        ("store/foo/bar", "docker.io/store/foo/bar:latest", "store/foo/bar:latest"),
        ("ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base:latest", "ubuntu-12.04-base:latest"),
        ("lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase"),
        ("test_com", "docker.io/library/test_com:latest", "test_com:latest"),
        ("test_com/foo", "docker.io/test_com/foo:latest", "test_com/foo:latest"),
        ("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080"),
        ("dock__er/docker", "docker.io/dock__er/docker:latest", "dock__er/docker:latest"),
        ("docker---rules/docker", "docker.io/docker---rules/docker:latest", "docker---rules/docker:latest"),
        ("d/docker", "docker.io/d/docker:latest", "d/docker:latest"),
        ("jess/t", "docker.io/jess/t:latest", "jess/t:latest"),
        (
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
        ),
    ];
    for (input, full, familiar) in cases {
        let r = parse(input);
        assert_eq!(r.to_string(), full, "full form of {input:?}");
        assert_eq!(r.familiar(), familiar, "familiar form of {input:?}");
    }
}

#[test]
fn single_component_hosts_without_slash_are_docker_hub_names() {
    // A name without '/' is never a registry: "host:port" reads as name:tag.
    let cases = [
        ("localhost", "docker.io/library/localhost:latest"),
        ("localhost:5000", "docker.io/library/localhost:5000"),
        ("192.168.0.1", "docker.io/library/192.168.0.1:latest"),
        ("192.168.0.1:80", "docker.io/library/192.168.0.1:80"),
        ("test.com:tag", "docker.io/library/test.com:tag"),
        ("test.com:5000", "docker.io/library/test.com:5000"),
        ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
    ];
    for (input, full) in cases {
        assert_eq!(parse(input).to_string(), full, "input {input:?}");
    }
}

#[test]
fn first_component_is_a_registry_when_it_has_dot_colon_uppercase_or_is_localhost() {
    // (input, registry, repository, tag)
    let cases = [
        (
            "127.0.0.1:5000/busybox:1.36",
            "127.0.0.1:5000",
            "busybox",
            "1.36",
        ),
        (
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000",
            "private/moonbase",
            "latest",
        ),
        ("192.168.0.1:8/debian", "192.168.0.1:8", "debian", "latest"),
        ("192.168.1.1/repo", "192.168.1.1", "repo", "latest"),
        (
            "192.168.1.1:5000/repo:5050",
            "192.168.1.1:5000",
            "repo",
            "5050",
        ),
        (
            "example.com/privatebase",
            "example.com",
            "privatebase",
            "latest",
        ),
        (
            "example.com:8000/private/moonbase",
            "example.com:8000",
            "private/moonbase",
            "latest",
        ),
        ("test.com/foo", "test.com", "foo", "latest"),
        ("test.com:8080/foo", "test.com:8080", "foo", "latest"),
        ("test-com:8080/foo", "test-com:8080", "foo", "latest"),
        ("test:5000/repo:tag", "test:5000", "repo", "tag"),
        (
            "xn--n3h.com:18080/foo",
            "xn--n3h.com:18080",
            "foo",
            "latest",
        ),
        (
            "xn--n3h.com/myimage:xn--n3h.com",
            "xn--n3h.com",
            "myimage",
            "xn--n3h.com",
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com",
            "bar/baz/quux",
            "some-long-tag",
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io",
            "test.example.com/my-app",
            "test.example.com",
        ),
        ("localhost/foo", "localhost", "foo", "latest"),
        (
            "localhost:5000/foo/bar:v1",
            "localhost:5000",
            "foo/bar",
            "v1",
        ),
        ("Foo/bar", "Foo", "bar", "latest"),
        ("FOO/bar", "FOO", "bar", "latest"),
        ("Docker/docker", "Docker", "docker", "latest"),
        (
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000",
            "docker",
            "latest",
        ),
        (
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000",
            "library/debian",
            "latest",
        ),
        ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest"),
        (
            "[2001:db8:1:2:3:4:5:6]/repo:tag",
            "[2001:db8:1:2:3:4:5:6]",
            "repo",
            "tag",
        ),
        (
            "[2001:db8::]:5000/repo",
            "[2001:db8::]:5000",
            "repo",
            "latest",
        ),
        ("[::1]:5000/repo", "[::1]:5000", "repo", "latest"),
        (
            "docker.io/docker/docker",
            "docker.io",
            "docker/docker",
            "latest",
        ),
        (
            "docker.io/library/foo/bar",
            "docker.io",
            "library/foo/bar",
            "latest",
        ),
        (
            &format!("docker.io/{HEX_ID}"),
            "docker.io",
            &format!("library/{HEX_ID}"),
            "latest",
        ),
    ];
    for (input, registry, repository, tag) in cases {
        let r = parse(input);
        assert_eq!(r.registry(), registry, "registry of {input:?}");
        assert_eq!(r.repository(), repository, "repository of {input:?}");
        assert_eq!(r.tag(), Some(tag), "tag of {input:?}");
        assert_eq!(r.digest(), None, "digest of {input:?}");
        assert_eq!(r.name(), format!("{registry}/{repository}"));
        if registry != DEFAULT_DOMAIN {
            assert_eq!(
                r.familiar_name(),
                r.name(),
                "other registries keep the full name"
            );
        }
    }
}

#[test]
fn digest_references_keep_no_default_tag() {
    let r = parse(&format!("busybox@{BUSYBOX_DIGEST}"));
    assert_eq!(
        r.to_string(),
        format!("docker.io/library/busybox@{BUSYBOX_DIGEST}")
    );
    assert_eq!(r.familiar(), format!("busybox@{BUSYBOX_DIGEST}"));
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest().unwrap().to_string(), BUSYBOX_DIGEST);
    assert_eq!(r.manifest_reference(), BUSYBOX_DIGEST);

    let r = parse(&format!("test:5000/repo@{SHA256_F}"));
    assert_eq!(
        (r.registry(), r.repository(), r.tag()),
        ("test:5000", "repo", None)
    );

    let digest = "sha256:1234567890098765432112345667890098765432112345667890098765432112";
    let r = parse(&format!("other.com/named@{digest}"));
    assert_eq!(r.name(), "other.com/named");
    assert_eq!(r.digest().unwrap().to_string(), digest);
}

#[test]
fn tag_and_digest_together_are_both_kept_and_canonical_drops_the_tag() {
    let short = format!("busybox:latest@{BUSYBOX_DIGEST}");
    let r = parse(&short);
    assert_eq!(r.to_string(), format!("docker.io/library/{short}"));
    assert_eq!(r.familiar(), short);
    assert_eq!(r.tag(), Some("latest"));
    assert_eq!(r.digest().unwrap().to_string(), BUSYBOX_DIGEST);
    assert_eq!(
        r.manifest_reference(),
        BUSYBOX_DIGEST,
        "the digest wins over the tag"
    );
    assert_eq!(
        r.canonical().to_string(),
        format!("docker.io/library/busybox@{BUSYBOX_DIGEST}")
    );

    let r = parse(&format!("[2001:db8::1]:5000/repo:tag@{SHA256_F}"));
    assert_eq!(
        (r.registry(), r.repository(), r.tag()),
        ("[2001:db8::1]:5000", "repo", Some("tag"))
    );

    let sha512 = format!("sha512:{}", "f".repeat(128));
    let r = parse(&format!("xn--7o8h.com/myimage:xn--7o8h.com@{sha512}"));
    assert_eq!(r.tag(), Some("xn--7o8h.com"));
    assert_eq!(r.digest().unwrap().algorithm(), DigestAlgorithm::Sha512);
}

#[test]
fn canonical_leaves_tag_only_references_alone_and_with_digest_pins_the_name() {
    let r = parse("127.0.0.1:5000/busybox:1.36");
    assert_eq!(r.canonical(), r);
    assert_eq!(r.manifest_reference(), "1.36");
    let pinned = r.with_digest(Digest::parse(SHA256_F).unwrap());
    assert_eq!(
        pinned.to_string(),
        format!("127.0.0.1:5000/busybox@{SHA256_F}")
    );
    assert_eq!(pinned.tag(), None);
}

#[test]
fn docker_hub_is_contacted_at_registry_1_and_others_at_their_own_host() {
    let cases = [
        ("busybox", "registry-1.docker.io"),
        ("docker.io/user/app", "registry-1.docker.io"),
        ("index.docker.io/user/app", "registry-1.docker.io"),
        ("127.0.0.1:5000/busybox:1.36", "127.0.0.1:5000"),
        ("localhost/app", "localhost"),
        ("ghcr.io/org/app", "ghcr.io"),
        ("[::1]:5000/repo", "[::1]:5000"),
    ];
    for (input, host) in cases {
        assert_eq!(parse(input).api_host(), host, "input {input:?}");
    }
}

#[test]
fn normalised_and_familiar_forms_parse_back_to_the_same_reference() {
    for input in [
        "busybox",
        "user/app:v2",
        "127.0.0.1:5000/busybox:1.36",
        "library/foo/bar",
        "Foo/bar",
        "[::1]:5000/repo",
        &format!("busybox:latest@{BUSYBOX_DIGEST}"),
        &format!("quay.io/a/b@{SHA256_F}"),
    ] {
        let r = parse(input);
        assert_eq!(parse(&r.to_string()), r, "full form of {input:?}");
        assert_eq!(parse(&r.familiar()), r, "familiar form of {input:?}");
        assert_eq!(input.parse::<ImageReference>().unwrap(), r);
    }
}

#[test]
fn references_serialize_as_their_full_string() {
    let r = parse("busybox");
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, "\"docker.io/library/busybox:latest\"");
    assert_eq!(serde_json::from_str::<ImageReference>(&json).unwrap(), r);
    assert!(serde_json::from_str::<ImageReference>("\"Bad/Name\"").is_err());
}

#[test]
fn invalid_references_from_the_docker_suites_are_rejected() {
    let too_long_namespace = "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_\
        this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_\
        this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_\
        this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker";
    let cases = [
        "",
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        HEX_ID,
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        too_long_namespace,
        ":justtag",
        "@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "repo@sha256:ffffffffffffffffffffffffffffffffff",
        "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "Uppercase:tag",
        "test:5000/Uppercase/lowercase:tag",
        "aa/asdf$$^/aa",
        "[2001:db8::1]",
        "[2001:db8::1]:5000",
        "[2001:db8::1]:tag",
        "[fe80::1%eth0]:5000/repo",
        "[fe80::1%@invalidzone]:5000/repo",
    ];
    for input in cases {
        parse_err(input);
    }
}

#[test]
fn each_kind_of_mistake_gets_its_own_error() {
    let e = |s: &str| parse_err(s);
    assert_eq!(e(""), ReferenceError::Empty);
    assert_eq!(
        e(HEX_ID),
        ReferenceError::HexIdentifier {
            reference: HEX_ID.into()
        }
    );
    for missing in [
        ":justtag",
        "example.com/",
        "localhost:5000/:tag",
        &format!("@{SHA256_F}"),
    ] {
        assert_eq!(
            e(missing),
            ReferenceError::MissingRepository {
                reference: missing.into()
            }
        );
    }
    assert_eq!(
        e("test:5000/Uppercase/lowercase:tag"),
        ReferenceError::UppercaseRepository {
            repository: "Uppercase/lowercase".into()
        }
    );
    assert_eq!(
        e("Uppercase:tag"),
        ReferenceError::UppercaseRepository {
            repository: "library/Uppercase".into()
        }
    );
    for domain in [
        "-docker.io",
        "fc00::1:5000",
        "[fe80::1%eth0]:5000",
        "host:port",
        "https:",
    ] {
        let input = format!("{domain}/repo");
        assert_eq!(
            e(&input),
            ReferenceError::InvalidDomain {
                domain: domain.into()
            },
            "{input:?}"
        );
    }
    assert_eq!(
        e("aa/asdf$$^/aa"),
        ReferenceError::InvalidPathComponent {
            repository: "aa/asdf$$^/aa".into(),
            component: "asdf$$^".into()
        }
    );
    assert_eq!(
        e("docker///docker"),
        ReferenceError::InvalidPathComponent {
            repository: "docker///docker".into(),
            component: String::new()
        }
    );
    for tag in ["", "-foo", ".foo", &"a".repeat(TAG_LENGTH_MAX + 1), "a:b"] {
        let input = format!("busybox:{tag}");
        assert_eq!(
            e(&input),
            ReferenceError::InvalidTag { tag: tag.into() },
            "{input:?}"
        );
    }
    let input = "repo@sha256:ffffffffffffffffffffffffffffffffff";
    assert_eq!(
        e(input),
        ReferenceError::InvalidDigest {
            reference: input.into(),
            source: DigestError::InvalidLength {
                algorithm: DigestAlgorithm::Sha256,
                expected: 64,
                actual: 34
            }
        }
    );
    let input = format!("validname@invaliddigest:{}", "f".repeat(64));
    assert!(matches!(
        e(&input),
        ReferenceError::InvalidDigest {
            source: DigestError::UnsupportedAlgorithm { .. },
            ..
        }
    ));
    let input = format!("busybox@sha256:{}", "F".repeat(64));
    assert!(matches!(
        e(&input),
        ReferenceError::InvalidDigest {
            source: DigestError::InvalidHex { .. },
            ..
        }
    ));
    assert!(matches!(
        e("busybox@"),
        ReferenceError::InvalidDigest {
            source: DigestError::Malformed { .. },
            ..
        }
    ));
}

#[test]
fn name_length_counts_the_normalised_registry_and_path_but_not_the_tag() {
    // "a.io/" plus a 250-character path is exactly 255.
    let path = format!("{}aa", "a/".repeat(124));
    let at_limit = format!("a.io/{path}:{}", "t".repeat(TAG_LENGTH_MAX));
    assert_eq!(parse(&at_limit).name().len(), NAME_TOTAL_LENGTH_MAX);
    let over = format!("a.io/{path}a");
    assert_eq!(
        parse_err(&over),
        ReferenceError::NameTooLong {
            name: over.clone(),
            length: 256
        }
    );

    // 255 characters as typed, but normalisation adds "docker.io/".
    let typed = format!("{}a:tag-puts-this-over-max", "a/".repeat(127));
    assert!(matches!(
        parse_err(&typed),
        ReferenceError::NameTooLong { length: 265, .. }
    ));
    let typed = format!("{}a:tag", "a/".repeat(128));
    assert!(matches!(
        parse_err(&typed),
        ReferenceError::NameTooLong { .. }
    ));
}

#[test]
fn underscore_hosts_are_rejected_rather_than_read_as_a_registryless_path() {
    // Go's regexp falls back to an empty domain here; a reference without a registry
    // cannot be pulled, so Skiff rejects it.
    assert_eq!(
        parse_err("foo_bar.com/x"),
        ReferenceError::InvalidDomain {
            domain: "foo_bar.com".into()
        }
    );
}

#[test]
fn error_messages_name_the_offending_part() {
    let text = |s: &str| parse_err(s).to_string();
    assert!(text("docker.io/docker/Docker").contains("\"docker/Docker\""));
    assert!(text("dock..er/docker").contains("\"dock..er\""));
    assert!(text("-docker.io/x").contains("\"-docker.io\""));
    assert!(text("busybox:-foo").contains("\"-foo\""));
    let err = parse_err("repo@sha256:abc");
    assert!(err.to_string().contains("repo@sha256:abc"));
    let source = std::error::Error::source(&err).expect("digest error is the source");
    assert!(source.to_string().contains("64 hex characters, found 3"));
}
