//! Preconditions of privileged tests. A test that lacks one panics with what is missing and
//! how to get it; it never passes by skipping.

use std::path::Path;

/// What a privileged test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Effective uid 0.
    Root,
    /// A program on `PATH` (or an absolute path), with the Debian package that provides it.
    Tool(&'static str, &'static str),
    /// A file that must exist, with the Debian package that provides it.
    File(&'static str, &'static str),
}

/// Checks every need and returns the list of what is missing, in words.
pub fn missing(needs: &[Need]) -> Vec<String> {
    needs
        .iter()
        .filter_map(|need| match *need {
            Need::Root if !nix::unistd::geteuid().is_root() => {
                Some("root (run the test suite as root)".to_string())
            }
            Need::Root => None,
            Need::Tool(tool, pkg) if find_on_path(tool).is_none() => {
                Some(format!("the `{tool}` program (apt-get install {pkg})"))
            }
            Need::Tool(..) => None,
            Need::File(file, pkg) if !Path::new(file).exists() => {
                Some(format!("{file} (apt-get install {pkg})"))
            }
            Need::File(..) => None,
        })
        .collect()
}

/// Panics, naming everything missing, unless every need is met.
#[track_caller]
pub fn require(needs: &[Need]) {
    let missing = missing(needs);
    assert!(
        missing.is_empty(),
        "this privileged test cannot run; missing: {}",
        missing.join("; ")
    );
}

fn find_on_path(tool: &str) -> Option<std::path::PathBuf> {
    if tool.contains('/') {
        return Path::new(tool).exists().then(|| tool.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tool_is_named_with_its_package() {
        let m = missing(&[Need::Tool("skiff-no-such-tool", "skiff-pkg")]);
        assert_eq!(m.len(), 1);
        assert!(m[0].contains("skiff-no-such-tool") && m[0].contains("skiff-pkg"));
    }

    #[test]
    fn present_file_is_not_missing() {
        assert!(missing(&[Need::File("/", "base-files")]).is_empty());
    }

    #[test]
    #[should_panic(expected = "missing")]
    fn require_panics_when_something_is_missing() {
        require(&[Need::File("/skiff/no/such/file", "nothing")]);
    }
}
