//! Content negotiation on the `Accept` header: plain objects, server-side Tables
//! (`as=Table;v=v1;g=meta.k8s.io`) or metadata only (`as=PartialObjectMetadata[List]`).

use crate::api::ApiError;

/// How objects are rendered in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The objects themselves (a `PodList` for lists).
    Object,
    /// A `meta.k8s.io/v1` Table.
    Table,
    /// `PartialObjectMetadata` items (a `PartialObjectMetadataList` for lists).
    Metadata,
}

/// One media range of an `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRange {
    /// `application/json`.
    pub mime: String,
    /// Parameters (`as`, `g`, `v`, …) with lower-case names.
    pub params: Vec<(String, String)>,
}

impl MediaRange {
    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_json(&self) -> bool {
        matches!(
            self.mime.as_str(),
            "application/json" | "application/*" | "*/*"
        )
    }
}

/// Splits an `Accept` header into media ranges in the client's order.
pub fn media_ranges(accept: &str) -> Vec<MediaRange> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let mime = it.next()?.trim().to_ascii_lowercase();
            if mime.is_empty() {
                return None;
            }
            let params = it
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    ))
                })
                .collect();
            Some(MediaRange { mime, params })
        })
        .collect()
}

/// Picks the representation of a get/list/watch answer. A header that offers nothing this
/// server produces is a 406.
pub fn representation(accept: Option<&str>) -> Result<Representation, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Representation::Object);
    };
    for range in media_ranges(accept) {
        if !range.is_json() {
            continue;
        }
        match range.param("as") {
            None => return Ok(Representation::Object),
            Some(as_) => {
                let meta_v1 =
                    range.param("g") == Some("meta.k8s.io") && range.param("v") == Some("v1");
                match as_ {
                    "Table" if meta_v1 => return Ok(Representation::Table),
                    "PartialObjectMetadata" | "PartialObjectMetadataList" if meta_v1 => {
                        return Ok(Representation::Metadata)
                    }
                    _ => continue,
                }
            }
        }
    }
    Err(ApiError::NotAcceptable(
        "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_accept_header_yields_a_table() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            representation(Some(kubectl)).unwrap(),
            Representation::Table
        );
        let v1beta1_first = "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            representation(Some(v1beta1_first)).unwrap(),
            Representation::Object
        );
    }

    #[test]
    fn metadata_only_and_plain_requests_negotiate() {
        assert_eq!(
            representation(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            ))
            .unwrap(),
            Representation::Metadata
        );
        assert_eq!(
            representation(Some(
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
            ))
            .unwrap(),
            Representation::Metadata
        );
        assert_eq!(representation(None).unwrap(), Representation::Object);
        assert_eq!(representation(Some("*/*")).unwrap(), Representation::Object);
        assert_eq!(
            representation(Some(
                "application/vnd.kubernetes.protobuf, application/json"
            ))
            .unwrap(),
            Representation::Object
        );
    }

    #[test]
    fn nothing_acceptable_is_406() {
        for a in [
            "application/vnd.kubernetes.protobuf",
            "text/html",
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
        ] {
            assert_eq!(representation(Some(a)).unwrap_err().code(), 406, "{a}");
        }
    }
}
