//! ConfigMaps, Secrets and ServiceAccounts: the secret type default, `stringData` folded into
//! `data`, key syntax, size limits and the `immutable` rule.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::field::{key, map_of, str_of, str_or_empty};
use super::meta;
use super::names;
use crate::api::FieldError;

/// Upstream's `MaxSecretSize` (also the limit of a configmap's data).
pub const MAX_SIZE: usize = 1024 * 1024;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

/// `SetDefaults_Secret` (type Opaque) and the v1 conversion of `stringData` into `data`.
pub fn secret_defaults(obj: &mut Value) {
    super::field::set_default(obj, "type", json!("Opaque"));
    let Some(string_data) = obj
        .as_object_mut()
        .and_then(|m| m.remove("stringData"))
        .and_then(|v| v.as_object().cloned())
    else {
        return;
    };
    let data = obj
        .as_object_mut()
        .map(|m| m.entry("data").or_insert_with(|| Value::Object(Map::new())));
    if let Some(data) = data {
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        for (k, v) in string_data {
            let s = v.as_str().unwrap_or("");
            data[k.as_str()] = json!(base64::engine::general_purpose::STANDARD.encode(s));
        }
    }
}

fn decoded_len(v: &Value) -> Option<usize> {
    let s = v.as_str()?;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .map(|b| b.len())
}

fn immutable_rules(obj: &Value, old: &Value, bags: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return errs;
    }
    if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET));
    }
    for bag in bags {
        let norm = |v: &Value| map_of(v, bag).filter(|m| !m.is_empty()).cloned();
        if norm(obj) != norm(old) {
            errs.push(FieldError::forbidden(*bag, IMMUTABLE_SET));
        }
    }
    errs
}

/// `ValidateConfigMap` / `ValidateConfigMapUpdate`.
pub fn validate_configmap(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
        errs.extend(immutable_rules(obj, old, &["data", "binaryData"]));
    }
    let data = map_of(obj, "data");
    let binary = map_of(obj, "binaryData");
    let mut size = 0;
    for (k, v) in data.into_iter().flatten() {
        let p = key("data", k);
        for m in names::config_map_key(k) {
            errs.push(FieldError::invalid(&p, json!(k), m));
        }
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(FieldError::invalid(
                &p,
                json!(k),
                "duplicate of key present in binaryData",
            ));
        }
        size += v.as_str().map_or(0, str::len);
    }
    for (k, v) in binary.into_iter().flatten() {
        let p = key("binaryData", k);
        for m in names::config_map_key(k) {
            errs.push(FieldError::invalid(&p, json!(k), m));
        }
        if data.is_some_and(|d| d.contains_key(k)) {
            errs.push(FieldError::invalid(
                &p,
                json!(k),
                "duplicate of key present in data",
            ));
        }
        match decoded_len(v) {
            Some(n) => size += n,
            None => errs.push(FieldError::invalid(
                &p,
                json!("<binary data>"),
                "must be base64-encoded",
            )),
        }
    }
    if size > MAX_SIZE {
        errs.push(FieldError::too_long("", MAX_SIZE));
    }
    errs
}

/// `ValidateSecret` / `ValidateSecretUpdate`, including the per-type required keys.
pub fn validate_secret(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
        errs.extend(meta::immutable(obj.get("type"), old.get("type"), "type"));
        errs.extend(immutable_rules(obj, old, &["data"]));
    }
    let data = map_of(obj, "data");
    let mut size = 0;
    for (k, v) in data.into_iter().flatten() {
        let p = key("data", k);
        for m in names::config_map_key(k) {
            errs.push(FieldError::invalid(&p, json!(k), m));
        }
        match decoded_len(v) {
            Some(n) => size += n,
            None => errs.push(FieldError::invalid(
                &p,
                json!("<secret contents redacted>"),
                "must be base64-encoded",
            )),
        }
    }
    if size > MAX_SIZE {
        errs.push(FieldError::too_long("data", MAX_SIZE));
    }
    let has_key = |k: &str| data.is_some_and(|d| d.contains_key(k));
    let nonempty = |k: &str| {
        data.and_then(|d| d.get(k))
            .and_then(decoded_len)
            .unwrap_or(0)
            > 0
    };
    match str_or_empty(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let sa = obj
                .pointer("/metadata/annotations")
                .and_then(|a| str_of(a, "kubernetes.io/service-account.name"))
                .unwrap_or("");
            if sa.is_empty() {
                errs.push(FieldError::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => errs.extend(json_key(data, ".dockercfg")),
        "kubernetes.io/dockerconfigjson" => errs.extend(json_key(data, ".dockerconfigjson")),
        "kubernetes.io/basic-auth" if !has_key("username") && !has_key("password") => {
            errs.push(FieldError::required("data[username]", ""));
            errs.push(FieldError::required("data[password]", ""));
        }
        "kubernetes.io/ssh-auth" if !nonempty("ssh-privatekey") => {
            errs.push(FieldError::required("data[ssh-privatekey]", ""));
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has_key(k) {
                    errs.push(FieldError::required(key("data", k), ""));
                }
            }
        }
        _ => {}
    }
    errs
}

fn json_key(data: Option<&Map<String, Value>>, k: &str) -> Vec<FieldError> {
    let p = key("data", k);
    let Some(v) = data.and_then(|d| d.get(k)) else {
        return vec![FieldError::required(p, "")];
    };
    let bytes = v
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .unwrap_or_default();
    match serde_json::from_slice::<Map<String, Value>>(&bytes) {
        Ok(_) => Vec::new(),
        Err(e) => vec![FieldError::invalid(
            p,
            json!("<secret contents redacted>"),
            e.to_string(),
        )],
    }
}

/// `ValidateServiceAccount` / update: metadata and the names of referenced secrets.
pub fn validate_serviceaccount(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(extra: Value) -> Value {
        let mut o = json!({"metadata": {"name": "cfg", "namespace": "default"}});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            o[k] = v;
        }
        o
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn secret_defaults_to_opaque_and_folds_string_data() {
        let mut s = obj(json!({"stringData": {"user": "admin"}, "data": {"a": "eA=="}}));
        secret_defaults(&mut s);
        assert_eq!(s["type"], "Opaque");
        assert_eq!(s["data"], json!({"a": "eA==", "user": "YWRtaW4="}));
        assert!(s.get("stringData").is_none());
        assert!(validate_secret(&s, None).is_empty());
    }

    #[test]
    fn configmap_keys_and_duplicates_are_checked() {
        let c = obj(
            json!({"data": {"ok.key": "v", "bad key": "v", "dup": "x"}, "binaryData": {"dup": "eA=="}}),
        );
        let errs = validate_configmap(&c, None);
        assert_eq!(
            fields(&errs),
            ["data[bad key]", "data[dup]", "binaryData[dup]"]
        );
        assert_eq!(
            errs[1].message(),
            "data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData"
        );
    }

    #[test]
    fn oversized_configmap_is_too_long() {
        let c = obj(json!({"data": {"big": "x".repeat(MAX_SIZE + 1)}}));
        let errs = validate_configmap(&c, None);
        assert_eq!(
            errs[0].message(),
            ": Too long: may not be more than 1048576 bytes"
        );
    }

    #[test]
    fn immutable_configmap_and_secret_reject_data_changes() {
        let old = obj(json!({"immutable": true, "data": {"a": "1"}}));
        let new = obj(json!({"immutable": true, "data": {"a": "2"}}));
        let errs = validate_configmap(&new, Some(&old));
        assert_eq!(
            errs[0].message(),
            "data: Forbidden: field is immutable when `immutable` is set"
        );
        let unset = obj(json!({"data": {"a": "1"}}));
        assert_eq!(
            fields(&validate_configmap(&unset, Some(&old))),
            ["immutable"]
        );
        let mut old_s = obj(json!({"immutable": true, "data": {"a": "eA=="}}));
        secret_defaults(&mut old_s);
        let mut new_s = old_s.clone();
        new_s["data"]["a"] = json!("eQ==");
        assert_eq!(fields(&validate_secret(&new_s, Some(&old_s))), ["data"]);
    }

    #[test]
    fn secret_type_is_immutable_and_typed_secrets_need_their_keys() {
        let old = obj(json!({"type": "Opaque"}));
        let new = obj(json!({"type": "kubernetes.io/tls"}));
        let errs = validate_secret(&new, Some(&old));
        assert_eq!(fields(&errs), ["type", "data[tls.crt]", "data[tls.key]"]);
        assert_eq!(
            errs[0].message(),
            "type: Invalid value: \"kubernetes.io/tls\": field is immutable"
        );
        let sa = obj(json!({"type": "kubernetes.io/service-account-token"}));
        assert_eq!(
            fields(&validate_secret(&sa, None)),
            ["metadata.annotations[kubernetes.io/service-account.name]"]
        );
    }
}
