//! What each subresource is: the kind it answers with and the verbs it takes, as upstream
//! serves them (`pods/eviction` is a `policy/v1` `Eviction`, `deployments/scale` an
//! `autoscaling/v1` `Scale`).

use crate::registry::KindInfo;

/// Static description of one subresource of a served kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// Subresource name (`status`).
    pub name: &'static str,
    /// Group of the kind sent and returned; the parent's group when the same kind.
    pub group: &'static str,
    /// Version of the kind sent and returned.
    pub version: &'static str,
    /// Kind sent and returned (`Pod` for `pods/status`, `Scale` for `deployments/scale`).
    pub kind: &'static str,
    /// Verbs the subresource takes.
    pub verbs: &'static [&'static str],
}

const READ_WRITE: &[&str] = &["get", "patch", "update"];

impl Subresource {
    /// Whether the subresource answers with a kind other than its parent's.
    pub fn is_foreign(&self, parent: &KindInfo) -> bool {
        (self.group, self.version, self.kind) != (parent.group, parent.version, parent.kind)
    }

    /// `v1` for core, `policy/v1` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The subresource `name` of `parent`, `None` if the name is not one the server knows.
pub fn describe(parent: &'static KindInfo, name: &str) -> Option<Subresource> {
    let same = |name: &'static str, verbs: &'static [&'static str]| Subresource {
        name,
        group: parent.group,
        version: parent.version,
        kind: parent.kind,
        verbs,
    };
    let sub = match name {
        "status" => same("status", READ_WRITE),
        "finalize" => same("finalize", &["update"]),
        "scale" => Subresource {
            name: "scale",
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: READ_WRITE,
        },
        "binding" => Subresource {
            name: "binding",
            group: "",
            version: "v1",
            kind: "Binding",
            verbs: &["create"],
        },
        "eviction" => Subresource {
            name: "eviction",
            group: "policy",
            version: "v1",
            kind: "Eviction",
            verbs: &["create"],
        },
        _ => return None,
    };
    Some(sub)
}

/// Every served subresource of `parent`, sorted by name.
pub fn of(parent: &'static KindInfo) -> Vec<Subresource> {
    let mut subs: Vec<Subresource> = parent
        .subresources
        .iter()
        .filter_map(|name| describe(parent, name))
        .collect();
    subs.sort_by_key(|s| s.name);
    subs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_kind;

    #[test]
    fn eviction_and_scale_answer_with_foreign_kinds() {
        let pods = by_kind("", "Pod").unwrap();
        let eviction = describe(pods, "eviction").unwrap();
        assert_eq!(eviction.api_version(), "policy/v1");
        assert!(eviction.is_foreign(pods));
        assert!(!describe(pods, "status").unwrap().is_foreign(pods));
        let deploy = by_kind("apps", "Deployment").unwrap();
        let scale = describe(deploy, "scale").unwrap();
        assert_eq!((scale.group, scale.kind), ("autoscaling", "Scale"));
        assert_eq!(scale.verbs, &["get", "patch", "update"]);
    }

    #[test]
    fn subresources_are_sorted_by_name() {
        let pods = by_kind("", "Pod").unwrap();
        let names: Vec<_> = of(pods).iter().map(|s| s.name).collect();
        assert_eq!(names, ["binding", "eviction", "status"]);
    }
}
