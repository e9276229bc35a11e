//! Parsing `/proc/self/mountinfo` (proc(5)): pure, so pins can be checked from captured text.

use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// One line of the mount table, reduced to what pin checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Where it is mounted, with octal escapes decoded.
    pub mount_point: PathBuf,
    /// The filesystem type (`nsfs` for namespace pins).
    pub fstype: String,
    /// Whether it is in a shared peer group (`shared:N` optional field).
    pub shared: bool,
}

/// Parses the whole table; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    let (left, right) = line.split_once(" - ")?;
    let fields: Vec<&str> = left.split(' ').collect();
    let mount_point = fields.get(4)?;
    let shared = fields.iter().skip(6).any(|f| f.starts_with("shared:"));
    let fstype = right.split(' ').next()?;
    Some(MountEntry {
        mount_point: unescape(mount_point),
        fstype: fstype.to_string(),
        shared,
    })
}

/// Decodes the kernel's `\ooo` escapes (space, tab, newline, backslash).
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// Whether `path` has an nsfs mount on it (a namespace pin).
pub fn is_nsfs_mount(entries: &[MountEntry], path: &Path) -> bool {
    entries
        .iter()
        .any(|e| e.fstype == "nsfs" && e.mount_point == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
22 1 0:21 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,mode=755
40 22 0:21 /skiff/netns /run/skiff/netns rw shared:9 - tmpfs tmpfs rw,mode=755
41 40 0:4 net:[4026532281] /run/skiff/netns/p1/net rw shared:9 - nsfs nsfs rw
42 40 0:4 uts:[4026532283] /run/skiff/netns/p\\0401/uts rw - nsfs nsfs rw
garbage line
";

    #[test]
    fn nsfs_pins_are_found_by_mount_point() {
        let entries = parse(TABLE);
        assert_eq!(entries.len(), 4);
        assert!(is_nsfs_mount(
            &entries,
            Path::new("/run/skiff/netns/p1/net")
        ));
        assert!(!is_nsfs_mount(
            &entries,
            Path::new("/run/skiff/netns/p1/ipc")
        ));
        assert!(!is_nsfs_mount(&entries, Path::new("/run/skiff/netns")));
    }

    #[test]
    fn escaped_spaces_in_mount_points_are_decoded() {
        let entries = parse(TABLE);
        assert!(is_nsfs_mount(
            &entries,
            Path::new("/run/skiff/netns/p 1/uts")
        ));
    }

    #[test]
    fn shared_peer_groups_are_recognised() {
        let entries = parse(TABLE);
        assert!(entries[1].shared);
        assert!(!entries[3].shared);
    }
}
