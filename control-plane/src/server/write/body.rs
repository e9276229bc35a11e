//! Request bodies: media types, decoding (JSON with duplicate-key detection, YAML, protobuf),
//! the apiVersion/kind check and `fieldValidation` (unknown and duplicate fields).

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::api::ApiError;
use crate::registry::KindInfo;

use super::options::FieldValidation;
use super::ResourceRequest;

/// Encodings of an object body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Media {
    /// `application/json` (also the default).
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
}

/// The four patch types, by Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PatchType {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml`.
    Apply,
}

fn essence(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn unsupported(ct: &str, supported: &[&str]) -> ApiError {
    tracing::debug!(content_type = ct, "unsupported request media type");
    ApiError::UnsupportedMediaType(format!(
        "the body of the request was in an unknown format - accepted media types include: {}",
        supported.join(", ")
    ))
}

/// The media type of an object body (create, update, subresource posts).
pub(super) fn object_media(content_type: Option<&str>) -> Result<Media, ApiError> {
    match essence(content_type).as_str() {
        "" | "application/json" => Ok(Media::Json),
        "application/yaml" => Ok(Media::Yaml),
        "application/vnd.kubernetes.protobuf" => Ok(Media::Protobuf),
        other => Err(unsupported(
            other,
            &[
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
            ],
        )),
    }
}

/// The patch type of a PATCH request.
pub(super) fn patch_type(content_type: Option<&str>) -> Result<PatchType, ApiError> {
    match essence(content_type).as_str() {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" => Ok(PatchType::Apply),
        other => Err(unsupported(
            other,
            &[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
                "application/strategic-merge-patch+json",
            ],
        )),
    }
}

/// A parsed JSON document and the paths of keys that appeared twice.
pub(super) struct Parsed {
    /// The document (later duplicates win, as in Go).
    pub value: Value,
    /// `metadata.name`, `spec.containers[0].image`, …
    pub duplicates: Vec<String>,
}

/// Parses JSON, recording duplicate keys.
pub(super) fn parse_json(bytes: &[u8]) -> Result<Parsed, serde_json::Error> {
    let dups = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Seed {
        path: String::new(),
        dups: &dups,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(Parsed {
        value,
        duplicates: dups.into_inner(),
    })
}

/// Parses YAML (a JSON document is YAML too).
pub(super) fn parse_yaml(bytes: &[u8]) -> Result<Value, String> {
    serde_yaml::from_slice::<Value>(bytes).map_err(|e| e.to_string())
}

/// A decoded object body plus the warnings field validation produced.
pub(super) struct Decoded {
    /// The object, with apiVersion and kind filled and unknown fields dropped.
    pub obj: Value,
    /// `Warning` texts.
    pub warnings: Vec<String>,
}

/// The type a body must have: the kind served at the endpoint or a subresource's type.
#[derive(Debug, Clone, Copy)]
pub(super) struct Expected<'a> {
    /// Accepted apiVersions (the first is filled in when the body has none).
    pub api_versions: &'a [&'a str],
    /// The kind name.
    pub kind: &'a str,
}

/// Decodes an object body of `req` as `expected`, applying field validation for `schema`.
pub(super) fn decode_object(
    req: &ResourceRequest,
    expected: Expected<'_>,
    schema: Option<&KindInfo>,
    validation: FieldValidation,
) -> Result<Decoded, ApiError> {
    let media = object_media(req.content_type.as_deref())?;
    let (mut obj, duplicates) = match media {
        Media::Json => {
            let parsed = parse_json(&req.body).map_err(|e| decode_error(expected, e))?;
            (parsed.value, parsed.duplicates)
        }
        Media::Yaml => (
            parse_yaml(&req.body).map_err(|e| decode_error(expected, e))?,
            Vec::new(),
        ),
        Media::Protobuf => (crate::wire::decode_protobuf(&req.body)?, Vec::new()),
    };
    if !obj.is_object() {
        return Err(decode_error(expected, "the body is not a JSON object"));
    }
    check_type(&mut obj, expected)?;
    let warnings = match schema {
        Some(kind) => field_validation(kind, &mut obj, duplicates, validation)?,
        None => Vec::new(),
    };
    Ok(Decoded { obj, warnings })
}

fn decode_error(expected: Expected<'_>, err: impl fmt::Display) -> ApiError {
    ApiError::BadRequest(format!(
        "{} in version \"{}\" cannot be handled as a {}: {err}",
        expected.kind,
        version_of(expected.api_versions[0]),
        expected.kind
    ))
}

fn version_of(api_version: &str) -> &str {
    api_version.rsplit('/').next().unwrap_or(api_version)
}

/// Fills an empty apiVersion/kind; refuses a body of another type.
pub(super) fn check_type(obj: &mut Value, expected: Expected<'_>) -> Result<(), ApiError> {
    let map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("the body is not a JSON object".into()))?;
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !api_version.is_empty() && !expected.api_versions.contains(&api_version.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            expected.api_versions[0]
        )));
    }
    if !kind.is_empty() && kind != expected.kind {
        let in_version = if api_version.is_empty() {
            expected.api_versions[0]
        } else {
            &api_version
        };
        return Err(ApiError::BadRequest(format!(
            "{kind} in version \"{}\" cannot be handled as a {}: no kind \"{kind}\" is registered for version \"{in_version}\"",
            version_of(in_version),
            expected.kind
        )));
    }
    if api_version.is_empty() {
        map.insert("apiVersion".into(), expected.api_versions[0].into());
    }
    if kind.is_empty() {
        map.insert("kind".into(), expected.kind.into());
    }
    Ok(())
}

/// Applies `fieldValidation`: unknown fields are always dropped (as decoding into typed
/// objects does); Strict refuses unknown and duplicate fields, Warn reports them.
pub(super) fn field_validation(
    kind: &KindInfo,
    obj: &mut Value,
    duplicates: Vec<String>,
    validation: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let unknown = crate::openapi::unknown_fields(kind, obj);
    for path in &unknown {
        remove_path(obj, path);
    }
    let mut problems: Vec<String> = duplicates
        .iter()
        .map(|p| format!("duplicate field \"{p}\""))
        .collect();
    problems.extend(unknown.iter().map(|p| format!("unknown field \"{p}\"")));
    match validation {
        FieldValidation::Ignore => Ok(Vec::new()),
        FieldValidation::Warn => Ok(problems),
        FieldValidation::Strict if problems.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(ApiError::BadRequest(format!(
            "strict decoding error: {}",
            problems.join(", ")
        ))),
    }
}

/// Removes the field at `spec.containers[0].foo` (keys may themselves contain dots).
pub(super) fn remove_path(obj: &mut Value, path: &str) {
    let segments = split_path(path);
    remove_segments(obj, &segments);
}

fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        let name_end = rest.find('[').unwrap_or(rest.len());
        out.push(rest[..name_end].to_string());
        rest = &rest[name_end..];
        while let Some(close) = rest.find(']') {
            out.push(rest[..=close].to_string());
            rest = &rest[close + 1..];
        }
    }
    out
}

fn remove_segments(obj: &mut Value, segs: &[String]) -> bool {
    let Some((first, rest)) = segs.split_first() else {
        return false;
    };
    if let Some(idx) = first.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let Ok(i) = idx.parse::<usize>() else {
            return false;
        };
        return obj
            .as_array_mut()
            .and_then(|a| a.get_mut(i))
            .is_some_and(|v| remove_segments(v, rest));
    }
    let Some(map) = obj.as_object_mut() else {
        return false;
    };
    // Try the longest key first: a key may contain dots (`app.kubernetes.io/name`).
    for take in (1..=segs.len()).rev() {
        if segs[..take].iter().any(|s| s.starts_with('[')) {
            continue;
        }
        let key = segs[..take].join(".");
        if take == segs.len() {
            if map.remove(&key).is_some() {
                return true;
            }
        } else if let Some(child) = map.get_mut(&key) {
            if remove_segments(child, &segs[take..]) {
                return true;
            }
        }
    }
    let _ = first;
    false
}

/// Deserializes a JSON value while recording duplicate object keys with their paths.
struct Seed<'a> {
    path: String,
    dups: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let seed = Seed {
                path: format!("{}[{}]", self.path, out.len()),
                dups: self.dups,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let value = access.next_value_seed(Seed {
                path: path.clone(),
                dups: self.dups,
            })?;
            if map.insert(key, value).is_some() {
                self.dups.borrow_mut().push(path);
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_keys_are_reported_with_their_paths() {
        let p = parse_json(br#"{"metadata":{"name":"a","name":"b"},"spec":{"c":[{"x":1,"x":2}]}}"#)
            .unwrap();
        assert_eq!(p.value["metadata"]["name"], "b");
        assert_eq!(p.duplicates, vec!["metadata.name", "spec.c[0].x"]);
    }

    #[test]
    fn content_types_map_to_media_and_patch_types() {
        assert_eq!(object_media(None).unwrap(), Media::Json);
        assert_eq!(
            object_media(Some("application/json; charset=utf-8")).unwrap(),
            Media::Json
        );
        assert_eq!(object_media(Some("application/yaml")).unwrap(), Media::Yaml);
        assert_eq!(object_media(Some("text/plain")).unwrap_err().code(), 415);
        assert_eq!(
            patch_type(Some("application/apply-patch+yaml")).unwrap(),
            PatchType::Apply
        );
        assert_eq!(
            patch_type(Some("application/json")).unwrap_err().code(),
            415
        );
    }

    #[test]
    fn remove_path_handles_indexes_and_dotted_keys() {
        let mut v = json!({"spec": {"containers": [{"name": "a", "bar": 1}], "a.b": {"c": 1}}});
        remove_path(&mut v, "spec.containers[0].bar");
        remove_path(&mut v, "spec.a.b.c");
        assert_eq!(
            v,
            json!({"spec": {"containers": [{"name": "a"}], "a.b": {}}})
        );
    }

    #[test]
    fn wrong_api_version_or_kind_is_a_bad_request() {
        let exp = Expected {
            api_versions: &["apps/v1"],
            kind: "Deployment",
        };
        let mut v = json!({"apiVersion": "v1", "kind": "Deployment"});
        assert!(check_type(&mut v, exp)
            .unwrap_err()
            .to_string()
            .contains("does not match the expected API version (apps/v1)"));
        let mut v = json!({"apiVersion": "apps/v1", "kind": "Pod"});
        assert_eq!(check_type(&mut v, exp).unwrap_err().code(), 400);
        let mut v = json!({});
        check_type(&mut v, exp).unwrap();
        assert_eq!(v, json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
    }
}
