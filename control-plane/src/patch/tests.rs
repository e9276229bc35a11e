use serde_json::{json, Value};

use super::*;

fn jp(doc: Value, patch: Value) -> Result<Value, ApiError> {
    json_patch(&doc, &patch)
}

#[test]
fn json_patch_rfc6902_appendix_examples_apply() {
    // A.1 .. A.8, A.10, A.11, A.14, A.16
    let cases = [
        (
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz", "value": "qux"}]),
            json!({"baz": "qux", "foo": "bar"}),
        ),
        (
            json!({"foo": ["bar", "baz"]}),
            json!([{"op": "add", "path": "/foo/1", "value": "qux"}]),
            json!({"foo": ["bar", "qux", "baz"]}),
        ),
        (
            json!({"baz": "qux", "foo": "bar"}),
            json!([{"op": "remove", "path": "/baz"}]),
            json!({"foo": "bar"}),
        ),
        (
            json!({"foo": ["bar", "qux", "baz"]}),
            json!([{"op": "remove", "path": "/foo/1"}]),
            json!({"foo": ["bar", "baz"]}),
        ),
        (
            json!({"baz": "qux", "foo": "bar"}),
            json!([{"op": "replace", "path": "/baz", "value": "boo"}]),
            json!({"baz": "boo", "foo": "bar"}),
        ),
        (
            json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
            json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
            json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
        ),
        (
            json!({"foo": ["all", "grass", "cows", "eat"]}),
            json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
            json!({"foo": ["all", "cows", "eat", "grass"]}),
        ),
        (
            json!({"baz": "qux", "foo": ["a", 2, "c"]}),
            json!([
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2}
            ]),
            json!({"baz": "qux", "foo": ["a", 2, "c"]}),
        ),
        (
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]),
            json!({"foo": "bar", "child": {"grandchild": {}}}),
        ),
        (
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]),
            json!({"foo": "bar", "baz": "qux"}),
        ),
        (
            json!({"/": 9, "~1": 10}),
            json!([{"op": "test", "path": "/~01", "value": 10}]),
            json!({"/": 9, "~1": 10}),
        ),
        (
            json!({"foo": ["bar"]}),
            json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]),
            json!({"foo": ["bar", ["abc", "def"]]}),
        ),
    ];
    for (doc, patch, want) in cases {
        assert_eq!(jp(doc, patch.clone()).unwrap(), want, "{patch}");
    }
}

#[test]
fn json_patch_failures_are_422_invalid() {
    // A.9 failed test, A.12 missing parent, A.15 string vs number.
    let cases = [
        (
            json!({"baz": "qux"}),
            json!([{"op": "test", "path": "/baz", "value": "bar"}]),
        ),
        (
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
        ),
        (
            json!({"/": 9, "~1": 10}),
            json!([{"op": "test", "path": "/~01", "value": "10"}]),
        ),
        (json!({"a": 1}), json!([{"op": "remove", "path": "/b"}])),
        (
            json!({"a": [1]}),
            json!([{"op": "replace", "path": "/a/5", "value": 2}]),
        ),
        (json!({"a": 1}), json!([{"op": "frobnicate", "path": "/a"}])),
    ];
    for (doc, patch) in cases {
        let err = jp(doc, patch.clone()).unwrap_err();
        assert_eq!(err.code(), 422, "{patch}: {err}");
        assert_eq!(err.reason(), "Invalid");
    }
}

#[test]
fn json_patch_missing_path_message_names_the_path() {
    let err = jp(
        json!({}),
        json!([{"op": "replace", "path": "/spec/x", "value": 1}]),
    )
    .unwrap_err();
    let status = err.to_status();
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "replace operation does not apply: doc is missing path: \"/spec/x\": missing value"
    );
}

#[test]
fn json_patch_that_is_not_an_array_is_bad_request() {
    let err = jp(json!({}), json!({"op": "add"})).unwrap_err();
    assert_eq!(err.code(), 400);
}

#[test]
fn json_patch_leaves_the_input_untouched_on_failure() {
    let doc = json!({"a": [1, 2]});
    let patch = json!([
        {"op": "add", "path": "/a/-", "value": 3},
        {"op": "test", "path": "/a/0", "value": 9}
    ]);
    assert!(json_patch(&doc, &patch).is_err());
    assert_eq!(doc, json!({"a": [1, 2]}));
}

#[test]
fn merge_patch_rfc7386_appendix_examples_apply() {
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (json!({"a": "foo"}), json!("bar"), json!("bar")),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (doc, patch, want) in cases {
        assert_eq!(merge_patch(&doc, &patch).unwrap(), want, "{patch}");
    }
}
