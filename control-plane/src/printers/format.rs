//! Small formatting helpers shared by the printers: JSON accessors, label sets and label
//! selectors as upstream's `labels.FormatLabels` / `metav1.FormatLabelSelector` print them,
//! and the container name/image cells.

use serde_json::Value;

/// The string at `v`, `""` when absent or not a string.
pub fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The integer at `v`, 0 when absent.
pub fn int_of(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// The array at `v`, empty when absent.
pub fn arr_of(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Number of keys of the object at `v`, 0 when absent.
pub fn len_of_map(v: &Value) -> usize {
    v.as_object().map_or(0, |m| m.len())
}

/// `s`, or `<none>` when empty.
pub fn or_none(s: impl Into<String>) -> String {
    let s = s.into();
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s
    }
}

/// A label map as `k=v,k2=v2` (sorted by key), `""` when empty (upstream's `Set.String`).
pub fn label_set_string(v: &Value) -> String {
    let Some(map) = v.as_object() else {
        return String::new();
    };
    let mut pairs: Vec<(&String, &str)> = map.iter().map(|(k, v)| (k, str_of(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Upstream's `labels.FormatLabels`: the label set, `<none>` when empty.
pub fn format_labels(v: &Value) -> String {
    or_none(label_set_string(v))
}

/// A `metav1.LabelSelector` as upstream's `LabelSelectorAsSelector(sel).String()`:
/// `Ok("")` for a nil or empty selector, `Err(())` for an invalid one.
pub fn label_selector_string(sel: &Value) -> Result<String, ()> {
    if !sel.is_object() {
        return Ok(String::new());
    }
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(map) = sel["matchLabels"].as_object() {
        for (k, v) in map {
            reqs.push((k.clone(), format!("{k}={}", str_of(v))));
        }
    }
    for expr in arr_of(&sel["matchExpressions"]) {
        let key = str_of(&expr["key"]).to_string();
        let mut values: Vec<&str> = arr_of(&expr["values"]).iter().map(str_of).collect();
        values.sort_unstable();
        let text = match str_of(&expr["operator"]) {
            "In" | "NotIn" if values.is_empty() => return Err(()),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" if values.is_empty() => key.clone(),
            "DoesNotExist" if values.is_empty() => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key, text));
    }
    // Upstream keeps requirements sorted by key.
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(","))
}

/// Upstream's `metav1.FormatLabelSelector`: `<none>` when empty, `<error>` when invalid.
pub fn format_label_selector(sel: &Value) -> String {
    match label_selector_string(sel) {
        Ok(s) => or_none(s),
        Err(()) => "<error>".to_string(),
    }
}

/// Upstream's `layoutContainerCells`: container names and images, each comma-joined.
pub fn container_cells(pod_spec: &Value) -> (String, String) {
    let containers = arr_of(&pod_spec["containers"]);
    let names: Vec<&str> = containers.iter().map(|c| str_of(&c["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_of(&c["image"])).collect();
    (names.join(","), images.join(","))
}

/// Upstream's `listWithMoreString`: up to `max` items, then ` + N more...`; `<unset>` when empty.
pub fn list_with_more(items: &[String], max: usize) -> String {
    let shown = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if items.len() > max {
        return format!("{shown} + {} more...", items.len() - max);
    }
    if shown.is_empty() {
        "<unset>".to_string()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_print_sorted_or_none() {
        assert_eq!(format_labels(&json!({"b": "2", "a": "1"})), "a=1,b=2");
        assert_eq!(format_labels(&json!({})), "<none>");
        assert_eq!(format_labels(&Value::Null), "<none>");
    }

    #[test]
    fn label_selectors_print_like_upstream() {
        let sel = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "gpu", "operator": "Exists"},
                {"key": "old", "operator": "DoesNotExist"}
            ]
        });
        assert_eq!(
            format_label_selector(&sel),
            "app=web,env notin (dev),gpu,!old,tier in (a,b)"
        );
        assert_eq!(format_label_selector(&json!({})), "<none>");
        assert_eq!(format_label_selector(&Value::Null), "<none>");
        let bad = json!({"matchExpressions": [{"key": "k", "operator": "In", "values": []}]});
        assert_eq!(format_label_selector(&bad), "<error>");
    }

    #[test]
    fn lists_beyond_max_say_how_many_more() {
        let items: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
        assert_eq!(list_with_more(&items, 3), "1,2,3 + 2 more...");
        assert_eq!(list_with_more(&items[..2], 3), "1,2");
        assert_eq!(list_with_more(&[], 3), "<unset>");
    }
}
