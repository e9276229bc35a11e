//! Query parameters of list and watch requests, parsed and validated as upstream does
//! (`ValidateListOptions`): selectors, paging, resourceVersion semantics, watch options.

use std::time::Duration;

use serde_json::Value;

use crate::api::{ApiError, FieldError};
use crate::printers::IncludeObject;
use crate::registry::KindInfo;
use crate::store::Revision;

use super::continuation::ContinueToken;
use super::fields::FieldSelector;
use super::labels::LabelSelector;

/// `resourceVersionMatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RvMatch {
    /// Not given.
    Unset,
    /// `NotOlderThan`.
    NotOlderThan,
    /// `Exact`.
    Exact,
}

/// Parsed options of a list or watch.
#[derive(Debug, Clone)]
pub struct ListParams {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (`None`: everything).
    pub limit: Option<usize>,
    /// `continue`.
    pub continue_token: Option<ContinueToken>,
    /// `resourceVersion` (`None`: unset; `Some(0)`: "0", any).
    pub resource_version: Option<Revision>,
    /// `resourceVersionMatch`.
    pub rv_match: RvMatch,
    /// `timeoutSeconds` of a watch.
    pub timeout: Option<Duration>,
    /// `allowWatchBookmarks`.
    pub allow_bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `includeObject` of Table answers.
    pub include: IncludeObject,
}

impl ListParams {
    /// Whether `obj` satisfies both selectors.
    pub fn matches(&self, kind: &KindInfo, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(kind, obj)
    }

    /// Whether no selector narrows the selection.
    pub fn selects_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

fn get<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn parse_bool(query: &[(String, String)], name: &str) -> Result<Option<bool>, ApiError> {
    match get(query, name) {
        None | Some("") => Ok(None),
        Some("true" | "1" | "True") => Ok(Some(true)),
        Some("false" | "0" | "False") => Ok(Some(false)),
        Some(other) => Err(ApiError::BadRequest(format!(
            "{name}: invalid boolean value: \"{other}\""
        ))),
    }
}

fn invalid(causes: Vec<FieldError>) -> ApiError {
    ApiError::Invalid {
        group: "meta.k8s.io".into(),
        kind: "ListOptions".into(),
        name: String::new(),
        causes,
    }
}

/// Parses and validates the query of a list (`watch == false`) or watch.
pub fn parse(
    kind: &KindInfo,
    query: &[(String, String)],
    watch: bool,
) -> Result<ListParams, ApiError> {
    let labels = LabelSelector::parse(get(query, "labelSelector").unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let fields = FieldSelector::parse(kind, get(query, "fieldSelector").unwrap_or(""))?;
    let limit = match get(query, "limit").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let n: i64 = s
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("limit: invalid value \"{s}\"")))?;
            (n > 0).then_some(n as usize)
        }
    };
    let continue_raw = get(query, "continue").filter(|s| !s.is_empty());
    let rv_raw = get(query, "resourceVersion").filter(|s| !s.is_empty());
    let resource_version = match rv_raw {
        None => None,
        Some(s) => Some(
            s.parse::<Revision>()
                .ok()
                .filter(|r| *r >= 0)
                .ok_or_else(|| ApiError::BadRequest(format!("invalid resource version: {s}")))?,
        ),
    };
    let match_raw = get(query, "resourceVersionMatch").filter(|s| !s.is_empty());
    let rv_match = match match_raw {
        None => RvMatch::Unset,
        Some("NotOlderThan") => RvMatch::NotOlderThan,
        Some("Exact") => RvMatch::Exact,
        Some(other) => {
            return Err(invalid(vec![FieldError::not_supported(
                "resourceVersionMatch",
                Value::String(other.into()),
                &["Exact", "NotOlderThan", ""],
            )]))
        }
    };
    let timeout = match get(query, "timeoutSeconds").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Duration::from_secs(s.parse().map_err(|_| {
            ApiError::BadRequest(format!("timeoutSeconds: invalid value \"{s}\""))
        })?)),
    };
    let allow_bookmarks = parse_bool(query, "allowWatchBookmarks")?.unwrap_or(false);
    let send_initial_events = parse_bool(query, "sendInitialEvents")?;
    let include = IncludeObject::from_query(get(query, "includeObject"))?;

    let mut causes = Vec::new();
    if watch {
        if send_initial_events.is_some() && rv_match != RvMatch::NotOlderThan {
            causes.push(FieldError::forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if rv_match != RvMatch::Unset && send_initial_events.is_none() {
            causes.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if rv_match == RvMatch::Exact {
            causes.push(FieldError::not_supported(
                "resourceVersionMatch",
                Value::String("Exact".into()),
                &["NotOlderThan"],
            ));
        }
    } else {
        if send_initial_events.is_some() {
            causes.push(FieldError::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for list",
            ));
        }
        if rv_match != RvMatch::Unset {
            if rv_raw.is_none() {
                causes.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if continue_raw.is_some() {
                causes.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if rv_match == RvMatch::Exact && resource_version == Some(0) {
                causes.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
    }
    if !causes.is_empty() {
        return Err(invalid(causes));
    }
    let continue_token = match continue_raw {
        None => None,
        Some(t) if !watch => {
            if resource_version.is_some_and(|rv| rv != 0) {
                return Err(ApiError::BadRequest(
                    "specifying resource version is not allowed when using continue".into(),
                ));
            }
            Some(ContinueToken::decode(t)?)
        }
        Some(_) => None,
    };
    Ok(ListParams {
        labels,
        fields,
        limit,
        continue_token,
        resource_version,
        rv_match,
        timeout,
        allow_bookmarks,
        send_initial_events,
        include,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_resource;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn pods() -> &'static KindInfo {
        by_resource("", "v1", "pods").unwrap()
    }

    #[test]
    fn list_options_follow_upstream_validation() {
        let e = parse(
            pods(),
            &q(&[("resourceVersionMatch", "NotOlderThan")]),
            false,
        )
        .unwrap_err();
        assert_eq!(e.code(), 422);
        assert!(e
            .to_string()
            .contains("resourceVersionMatch is forbidden unless resourceVersion is provided"));
        let e = parse(
            pods(),
            &q(&[("resourceVersion", "0"), ("resourceVersionMatch", "Exact")]),
            false,
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .contains("\"exact\" is forbidden for resourceVersion \"0\""));
        let e = parse(
            pods(),
            &q(&[("resourceVersion", "3"), ("resourceVersionMatch", "Newest")]),
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("Unsupported value"));
        let e = parse(pods(), &q(&[("resourceVersion", "abc")]), false).unwrap_err();
        assert_eq!(e.code(), 400);
        let e = parse(pods(), &q(&[("labelSelector", "a in (")]), false).unwrap_err();
        assert_eq!(e.code(), 400);
        let e = parse(pods(), &q(&[("sendInitialEvents", "true")]), false).unwrap_err();
        assert_eq!(e.code(), 422);
        let ok = parse(
            pods(),
            &q(&[
                ("resourceVersion", "5"),
                ("resourceVersionMatch", "Exact"),
                ("limit", "2"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(ok.resource_version, Some(5));
        assert_eq!(ok.rv_match, RvMatch::Exact);
        assert_eq!(ok.limit, Some(2));
        assert_eq!(
            parse(pods(), &q(&[("limit", "0")]), false).unwrap().limit,
            None
        );
    }

    #[test]
    fn continue_with_a_resource_version_is_rejected() {
        let token = ContinueToken::encode("/p/", "/p/a", 4);
        let e = parse(
            pods(),
            &q(&[("continue", &token), ("resourceVersion", "4")]),
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "specifying resource version is not allowed when using continue"
        );
        assert!(parse(
            pods(),
            &q(&[("continue", &token), ("resourceVersion", "0")]),
            false
        )
        .is_ok());
    }

    #[test]
    fn watch_options_follow_upstream_validation() {
        let ok = parse(
            pods(),
            &q(&[
                ("sendInitialEvents", "true"),
                ("resourceVersionMatch", "NotOlderThan"),
                ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", "30"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(ok.send_initial_events, Some(true));
        assert!(ok.allow_bookmarks);
        assert_eq!(ok.timeout, Some(Duration::from_secs(30)));
        let e = parse(pods(), &q(&[("sendInitialEvents", "true")]), true).unwrap_err();
        assert!(e
            .to_string()
            .contains("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
        let e = parse(
            pods(),
            &q(&[("resourceVersionMatch", "NotOlderThan")]),
            true,
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .contains("unless sendInitialEvents is provided"));
        let e = parse(pods(), &q(&[("timeoutSeconds", "soon")]), true).unwrap_err();
        assert_eq!(e.code(), 400);
    }
}
