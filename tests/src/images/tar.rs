//! A minimal ustar writer: enough for image layers and archives of regular files, directories
//! and symlinks, byte-for-byte reproducible (fixed owners and times).

/// One entry of a tar archive.
#[derive(Debug, Clone)]
pub enum Entry<'a> {
    /// A directory (name without a trailing slash).
    Dir(&'a str),
    /// A regular file with its mode and contents.
    File(&'a str, u32, &'a [u8]),
    /// A symbolic link and its target.
    Symlink(&'a str, &'a str),
}

/// Builds a tar archive of `entries`, in order, ending with the two zero blocks.
pub fn build(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        match *entry {
            Entry::Dir(name) => out.extend(header(&format!("{name}/"), 0o755, 0, b'5', "")),
            Entry::File(name, mode, data) => {
                out.extend(header(name, mode, data.len() as u64, b'0', ""));
                out.extend_from_slice(data);
                out.resize(out.len().next_multiple_of(512), 0);
            }
            Entry::Symlink(name, target) => out.extend(header(name, 0o777, 0, b'2', target)),
        }
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn header(name: &str, mode: u32, size: u64, kind: u8, link: &str) -> [u8; 512] {
    assert!(
        name.len() <= 100 && link.len() <= 100,
        "tar name too long: {name}"
    );
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0); // mtime
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    // The checksum is computed with its own field read as spaces.
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    h
}

/// Writes `value` as zero-padded octal filling `field` but its last byte (a NUL).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    assert_eq!(text.len(), width, "value {value} does not fit a tar field");
    field[..width].copy_from_slice(text.as_bytes());
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_is_block_aligned_and_lists_with_tar() {
        let data = build(&[
            Entry::Dir("bin"),
            Entry::File("bin/hello", 0o755, b"hi\n"),
            Entry::Symlink("bin/alias", "hello"),
        ]);
        assert_eq!(data.len() % 512, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        std::fs::write(&path, &data).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.contains("bin/hello"), "{listing}");
        assert!(listing.contains("bin/alias -> hello"), "{listing}");
    }
}
