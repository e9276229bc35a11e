//! Decoding of captured kubectl bodies and hand-built messages, and robustness on bad input.

use serde_json::{json, Value};

use super::{decode_protobuf, schema, PROTOBUF_MAGIC};
use crate::api::ApiError;
use crate::registry::KINDS;

/// Bodies kubectl 1.33 sent for `kubectl create …`, and what `--dry-run=client -o json` printed.
const FIXTURES: &[(&str, &[u8], &str)] = &[
    (
        "configmap",
        include_bytes!("testdata/configmap.pb"),
        include_str!("testdata/configmap.json"),
    ),
    (
        "configmap-ns",
        include_bytes!("testdata/configmap-ns.pb"),
        include_str!("testdata/configmap-ns.json"),
    ),
    (
        "namespace",
        include_bytes!("testdata/namespace.pb"),
        include_str!("testdata/namespace.json"),
    ),
    (
        "secret-generic",
        include_bytes!("testdata/secret-generic.pb"),
        include_str!("testdata/secret-generic.json"),
    ),
    (
        "secret-docker",
        include_bytes!("testdata/secret-docker.pb"),
        include_str!("testdata/secret-docker.json"),
    ),
    (
        "deployment",
        include_bytes!("testdata/deployment.pb"),
        include_str!("testdata/deployment.json"),
    ),
    (
        "deployment-zero",
        include_bytes!("testdata/deployment-zero.pb"),
        include_str!("testdata/deployment-zero.json"),
    ),
    (
        "service-clusterip",
        include_bytes!("testdata/service-clusterip.pb"),
        include_str!("testdata/service-clusterip.json"),
    ),
    (
        "service-nodeport",
        include_bytes!("testdata/service-nodeport.pb"),
        include_str!("testdata/service-nodeport.json"),
    ),
    (
        "service-loadbalancer",
        include_bytes!("testdata/service-loadbalancer.pb"),
        include_str!("testdata/service-loadbalancer.json"),
    ),
    (
        "service-externalname",
        include_bytes!("testdata/service-externalname.pb"),
        include_str!("testdata/service-externalname.json"),
    ),
    (
        "service-headless",
        include_bytes!("testdata/service-headless.pb"),
        include_str!("testdata/service-headless.json"),
    ),
    (
        "serviceaccount",
        include_bytes!("testdata/serviceaccount.pb"),
        include_str!("testdata/serviceaccount.json"),
    ),
];

/// A minimal protobuf writer for hand-built messages.
#[derive(Default, Clone)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(mut self, number: u32, v: u64) -> Self {
        put_varint(&mut self.0, u64::from(number) << 3);
        put_varint(&mut self.0, v);
        self
    }
    fn bytes(mut self, number: u32, b: &[u8]) -> Self {
        put_varint(&mut self.0, (u64::from(number) << 3) | 2);
        put_varint(&mut self.0, b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, number: u32, s: &str) -> Self {
        self.bytes(number, s.as_bytes())
    }
    fn msg(self, number: u32, m: Pb) -> Self {
        self.bytes(number, &m.0)
    }
    fn entry(self, number: u32, key: &str, value: Pb) -> Self {
        self.msg(number, Pb::default().str(1, key).msg(2, value))
    }
    fn str_entry(self, number: u32, key: &str, value: &[u8]) -> Self {
        self.msg(number, Pb::default().str(1, key).bytes(2, value))
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn envelope(api_version: &str, kind: &str, raw: Pb) -> Vec<u8> {
    let unknown = Pb::default()
        .msg(1, Pb::default().str(1, api_version).str(2, kind))
        .msg(2, raw)
        .str(3, "")
        .str(4, "");
    [PROTOBUF_MAGIC.as_slice(), &unknown.0].concat()
}

fn quantity(s: &str) -> Pb {
    Pb::default().str(1, s)
}

fn meta(name: &str) -> Pb {
    Pb::default()
        .str(1, name)
        .str(2, "")
        .str(3, "default")
        .msg(8, Pb::default())
}

fn bad_request(body: &[u8]) -> String {
    match decode_protobuf(body) {
        Err(ApiError::BadRequest(msg)) => msg,
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

#[test]
fn kubectl_create_bodies_decode_to_the_dry_run_json() {
    for (name, body, expected) in FIXTURES {
        let got = decode_protobuf(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want: Value = serde_json::from_str(expected).unwrap();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn decoded_fields_follow_go_declaration_order() {
    let got = decode_protobuf(FIXTURES[5].1).unwrap();
    let keys: Vec<_> = got["spec"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["replicas", "selector", "template", "strategy"]);
    assert_eq!(got["spec"]["replicas"], json!(3));
}

#[test]
fn zero_replicas_from_a_pointer_field_are_kept() {
    let got = decode_protobuf(FIXTURES[6].1).unwrap();
    assert_eq!(got["spec"]["replicas"], json!(0));
}

#[test]
fn every_served_kind_has_a_protobuf_schema() {
    for kind in KINDS {
        assert!(
            schema::root(&kind.api_version(), kind.kind).is_some(),
            "{} {}",
            kind.api_version(),
            kind.kind
        );
    }
    for (v, k) in [
        ("v1", "Binding"),
        ("policy/v1", "Eviction"),
        ("autoscaling/v1", "Scale"),
    ] {
        assert!(schema::root(v, k).is_some(), "{v} {k}");
    }
}

#[test]
fn pod_fields_use_kubernetes_json_names_and_special_encodings() {
    let container = Pb::default()
        .str(1, "app")
        .str(2, "nginx")
        .msg(
            6,
            Pb::default().str(1, "http").varint(3, 8080).str(4, "TCP"),
        )
        .msg(
            8,
            Pb::default()
                .entry(1, "cpu", quantity("500m"))
                .entry(1, "memory", quantity("128Mi"))
                .entry(2, "cpu", Pb::default()),
        )
        .msg(
            11,
            Pb::default().msg(
                1,
                Pb::default().msg(
                    2,
                    Pb::default()
                        .str(1, "/healthz")
                        .msg(2, Pb::default().varint(1, 1).str(3, "http")),
                ),
            ),
        );
    let spec = Pb::default()
        .msg(2, container)
        .varint(4, 0)
        .str(10, "node-1")
        .varint(11, 0)
        .msg(14, Pb::default().varint(2, 0).varint(6, 0));
    let status = Pb::default()
        .str(1, "Running")
        .str(5, "10.0.0.5")
        .str(6, "10.42.0.7")
        .msg(12, Pb::default().str(1, "10.42.0.7"))
        .msg(16, Pb::default().str(1, "10.0.0.5"))
        .msg(7, Pb::default().varint(1, 1_767_322_445));
    let pod = Pb::default()
        .msg(
            1,
            meta("web")
                .entry(11, "app", Pb::default().str(1, "ignored-not-bytes"))
                .str_entry(11, "tier", b"front"),
        )
        .msg(2, spec)
        .msg(3, status);
    let got = decode_protobuf(&envelope("v1", "Pod", pod)).unwrap();
    assert_eq!(got["metadata"]["labels"]["tier"], json!("front"));
    assert_eq!(got["metadata"]["creationTimestamp"], Value::Null);
    assert_eq!(got["metadata"].get("generateName"), None);
    let c = &got["spec"]["containers"][0];
    assert_eq!(
        c["ports"],
        json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        c["resources"],
        json!({"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "0"}})
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "http"})
    );
    assert_eq!(got["spec"]["terminationGracePeriodSeconds"], json!(0));
    assert_eq!(got["spec"]["nodeName"], json!("node-1"));
    assert_eq!(
        got["spec"].get("hostNetwork"),
        None,
        "zero value with omitempty"
    );
    assert_eq!(
        got["spec"]["securityContext"],
        json!({"runAsUser": 0, "runAsGroup": 0})
    );
    assert_eq!(
        got["status"],
        json!({"phase": "Running", "hostIP": "10.0.0.5", "hostIPs": [{"ip": "10.0.0.5"}],
               "podIP": "10.42.0.7", "podIPs": [{"ip": "10.42.0.7"}], "startTime": "2026-01-02T02:54:05Z"})
    );
}

#[test]
fn secret_data_bytes_become_base64() {
    let secret = Pb::default()
        .msg(1, meta("s"))
        .str_entry(2, "password", b"\x00\xffhunter2")
        .str_entry(2, "empty", b"")
        .str(3, "Opaque")
        .varint(5, 1);
    let got = decode_protobuf(&envelope("v1", "Secret", secret)).unwrap();
    assert_eq!(
        got["data"],
        json!({"password": "AP9odW50ZXIy", "empty": ""})
    );
    assert_eq!(got["type"], json!("Opaque"));
    assert_eq!(got["immutable"], json!(true));
}

#[test]
fn node_and_service_fields_keep_their_upstream_names() {
    let node = Pb::default()
        .msg(1, meta("n1"))
        .msg(
            2,
            Pb::default().str(1, "10.42.1.0/24").str(7, "10.42.1.0/24"),
        )
        .msg(
            3,
            Pb::default()
                .entry(1, "cpu", quantity("4"))
                .entry(1, "pods", quantity("110")),
        );
    let got = decode_protobuf(&envelope("v1", "Node", node)).unwrap();
    assert_eq!(
        got["spec"],
        json!({"podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24"]})
    );
    assert_eq!(
        got["status"]["capacity"],
        json!({"cpu": "4", "pods": "110"})
    );
    assert_eq!(
        got["status"]["daemonEndpoints"],
        json!({"kubeletEndpoint": {"Port": 0}})
    );

    let spec = Pb::default()
        .msg(
            1,
            Pb::default()
                .str(2, "TCP")
                .varint(3, 80)
                .msg(4, Pb::default().varint(2, 8080)),
        )
        .str(3, "10.43.0.10")
        .str(18, "10.43.0.10")
        .str(5, "192.0.2.1")
        .str(4, "ClusterIP");
    let got = decode_protobuf(&envelope(
        "v1",
        "Service",
        Pb::default().msg(1, meta("s")).msg(2, spec),
    ))
    .unwrap();
    assert_eq!(got["spec"]["clusterIPs"], json!(["10.43.0.10"]));
    assert_eq!(got["spec"]["externalIPs"], json!(["192.0.2.1"]));
    assert_eq!(got["spec"]["ports"][0]["targetPort"], json!(8080));
}

#[test]
fn lease_and_event_micro_times_keep_microseconds() {
    let lease = Pb::default().msg(1, meta("node-1")).msg(
        2,
        Pb::default()
            .str(1, "node-1")
            .varint(2, 40)
            .msg(4, Pb::default().varint(1, 1_767_322_445).varint(2, 5_000)),
    );
    let got = decode_protobuf(&envelope("coordination.k8s.io/v1", "Lease", lease)).unwrap();
    assert_eq!(
        got["spec"],
        json!({"holderIdentity": "node-1", "leaseDurationSeconds": 40, "renewTime": "2026-01-02T02:54:05.000005Z"})
    );

    let event = Pb::default()
        .msg(1, meta("e"))
        .msg(2, Pb::default().str(1, "Pod").str(3, "web"))
        .str(3, "Scheduled")
        .msg(6, Pb::default().varint(1, 1_767_322_445))
        .msg(10, Pb::default().varint(1, 1_767_322_445).varint(2, 1_000));
    let got = decode_protobuf(&envelope("v1", "Event", event)).unwrap();
    assert_eq!(got["firstTimestamp"], json!("2026-01-02T02:54:05Z"));
    assert_eq!(got["lastTimestamp"], Value::Null);
    assert_eq!(got["eventTime"], json!("2026-01-02T02:54:05.000001Z"));
    assert_eq!(got["involvedObject"], json!({"kind": "Pod", "name": "web"}));
}

#[test]
fn delete_options_are_accepted_with_any_group_version() {
    let opts = Pb::default().varint(1, 0).str(4, "Foreground");
    let got = decode_protobuf(&envelope("apps/v1", "DeleteOptions", opts)).unwrap();
    assert_eq!(
        got,
        json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "propagationPolicy": "Foreground"})
    );
}

#[test]
fn doubles_durations_and_raw_extensions_decode_by_table() {
    static M: schema::Message = schema::Message {
        name: "test.Sample",
        fields: &[
            schema::Field::new(1, "ratio", schema::Ty::Double, schema::Shape::Value, true),
            schema::Field::new(
                2,
                "timeout",
                schema::Ty::Duration,
                schema::Shape::Pointer,
                true,
            ),
            schema::Field::new(
                3,
                "object",
                schema::Ty::RawExtension,
                schema::Shape::Value,
                false,
            ),
        ],
    };
    let mut buf = vec![0x09];
    buf.extend_from_slice(&0.25f64.to_le_bytes());
    let buf = Pb(buf)
        .msg(2, Pb::default().varint(1, 90_000_000_000))
        .msg(3, Pb::default().str(1, r#"{"kind":"Pod"}"#));
    let got = super::message::decode(&M, &buf.0).unwrap();
    assert_eq!(
        got,
        json!({"ratio": 0.25, "timeout": "1m30s", "object": {"kind": "Pod"}})
    );
    assert_eq!(
        super::message::decode(&M, &[]).unwrap(),
        json!({"object": null})
    );
}

#[test]
fn unknown_field_numbers_are_skipped() {
    let cm = Pb::default()
        .msg(1, meta("x"))
        .varint(99, 7)
        .str(98, "future")
        .str_entry(2, "k", b"v");
    let got = decode_protobuf(&envelope("v1", "ConfigMap", cm)).unwrap();
    assert_eq!(got["data"], json!({"k": "v"}));
}

#[test]
fn repeated_scalars_are_read_packed_and_unpacked() {
    let mut packed = Vec::new();
    put_varint(&mut packed, 1);
    put_varint(&mut packed, 2);
    let ctx = Pb::default().bytes(4, &packed).varint(4, 3);
    let spec = Pb::default().msg(14, ctx);
    let got = decode_protobuf(&envelope("v1", "Pod", Pb::default().msg(2, spec))).unwrap();
    assert_eq!(
        got["spec"]["securityContext"]["supplementalGroups"],
        json!([1, 2, 3])
    );
}

#[test]
fn malformed_bodies_are_bad_requests_with_a_reason() {
    assert!(bad_request(b"{\"kind\":\"Pod\"}").contains("does not appear to be a protobuf message"));
    assert!(bad_request(b"k8s").contains("does not appear to be a protobuf message"));
    let cm = FIXTURES[0].1;
    assert!(bad_request(&cm[..cm.len() - 3]).contains("unexpected end of data"));
    assert!(bad_request(&envelope("v1", "Widget", Pb::default()))
        .contains("no kind \"Widget\" is registered for version \"v1\""));
    assert!(bad_request(&envelope("v1", "", Pb::default())).contains("'Kind' is missing"));
    let wrong = Pb::default().varint(1, 5);
    assert!(bad_request(&envelope("v1", "ConfigMap", wrong)).contains("wrong wire type"));
    let gz = [
        PROTOBUF_MAGIC.as_slice(),
        &Pb::default()
            .msg(1, Pb::default().str(1, "v1").str(2, "Pod"))
            .str(3, "gzip")
            .0,
    ]
    .concat();
    assert!(bad_request(&gz).contains("content encoding"));
}

/// A small deterministic generator (xorshift64*) for the robustness tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn decodes_or_rejects(body: &[u8]) {
    match decode_protobuf(body) {
        Ok(v) => assert!(v.is_object()),
        Err(ApiError::BadRequest(_)) => {}
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn truncated_corrupted_and_random_bodies_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (_, body, _) in FIXTURES {
        for len in 0..body.len() {
            decodes_or_rejects(&body[..len]);
        }
        for _ in 0..300 {
            let mut b = body.to_vec();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % b.len();
                b[i] ^= 1 << (rng.next() % 8);
            }
            decodes_or_rejects(&b);
        }
    }
    for _ in 0..2000 {
        let len = (rng.next() % 64) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.next().is_multiple_of(2) {
            b.splice(0..0, PROTOBUF_MAGIC.iter().copied());
        }
        decodes_or_rejects(&b);
    }
}
