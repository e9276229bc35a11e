//! Apply conflicts as upstream reports them: a 409 whose message lists each conflicting field
//! under its manager, with one `FieldManagerConflict` cause per field.

use super::fieldset::{path_string, PathElement};
use super::managed::ManagedEntry;
use crate::api::{ApiError, CauseKind, FieldError};

/// One field another manager owns with a different value.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The manager's identifier (orders the report).
    pub identifier: String,
    /// The manager as upstream names it: `"kubectl" using apps/v1`.
    pub manager: String,
    /// The field.
    pub path: Vec<PathElement>,
}

impl Conflict {
    /// One conflict per field `entry` owns among `paths`.
    pub fn for_entry(entry: &ManagedEntry, paths: Vec<Vec<PathElement>>) -> Vec<Conflict> {
        paths
            .into_iter()
            .map(|path| Conflict {
                identifier: entry.identifier(),
                manager: entry.describe(),
                path,
            })
            .collect()
    }
}

/// The 409 for `conflicts` (at least one), message and causes as upstream's
/// `NewConflictError`. Group, resource and name stay empty: upstream's apply conflicts carry
/// only causes in their details.
pub fn conflict_error(mut conflicts: Vec<Conflict>) -> ApiError {
    conflicts.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let message = if let [only] = conflicts.as_slice() {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager,
            path_string(&only.path)
        )
    } else {
        let mut lines = Vec::new();
        let mut last: Option<&str> = None;
        for c in &conflicts {
            if last != Some(c.identifier.as_str()) {
                lines.push(format!("conflicts with {}:", c.manager));
                last = Some(&c.identifier);
            }
            lines.push(format!("- {}", path_string(&c.path)));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let causes = conflicts
        .iter()
        .map(|c| FieldError {
            kind: CauseKind::FieldManagerConflict,
            field: path_string(&c.path),
            value: None,
            detail: format!("conflict with {}", c.manager),
        })
        .collect();
    ApiError::Conflict {
        group: String::new(),
        resource: String::new(),
        name: String::new(),
        message,
        causes,
    }
}
