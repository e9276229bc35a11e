//! The files of an image tarball (plain or gzip-compressed tar), read into memory.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::service::ServiceError;

/// Regular files of an archive by normalised path (`./a/b` and `a/b` are both `a/b`).
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

/// `tarball: <what>: <reason>`: the archive is unusable as it is.
pub(crate) fn invalid(what: &str, reason: impl std::fmt::Display) -> ServiceError {
    ServiceError::InvalidConfig {
        field: "tarball".to_string(),
        reason: format!("{what}: {reason}"),
    }
}

/// Reads every regular file of the tar (gzip sniffed by its magic bytes) at `path`.
pub(crate) fn read_file(path: &Path) -> Result<Files, ServiceError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| invalid(&display, e))?;
    read_bytes(&bytes).map_err(|reason| invalid(&display, reason))
}

/// Reads every regular file of a tar held in memory (gzip sniffed by its magic bytes).
pub(crate) fn read_bytes(bytes: &[u8]) -> Result<Files, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        read_tar(flate2::read::GzDecoder::new(bytes))
    } else {
        read_tar(bytes)
    }
}

fn read_tar(reader: impl Read) -> Result<Files, String> {
    let not_tar = |e: std::io::Error| format!("not a tar archive: {e}");
    let mut archive = tar::Archive::new(reader);
    let mut files = Files::new();
    let mut entries = 0usize;
    for entry in archive.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        entries += 1;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(not_tar)?;
        let name = normalise(&path.to_string_lossy());
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut data).map_err(not_tar)?;
        files.insert(name, data);
    }
    if entries == 0 {
        return Err("not a tar archive: no entries".to_string());
    }
    Ok(files)
}

/// `./a//b` -> `a/b`.
pub(crate) fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn plain_tar_files_are_read_by_normalised_path() {
        let tar = tar_of(&[("./index.json", b"{}"), ("blobs/sha256/ab", b"x")]);
        let files = read_bytes(&tar).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["blobs/sha256/ab", "index.json"]
        );
        assert_eq!(files["index.json"], b"{}");
    }

    #[test]
    fn gzip_tar_is_sniffed_and_read() {
        use std::io::Write;
        let tar = tar_of(&[("manifest.json", b"[]")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let files = read_bytes(&gz.finish().unwrap()).unwrap();
        assert_eq!(files["manifest.json"], b"[]");
    }

    #[test]
    fn bytes_that_are_not_a_tar_are_rejected() {
        let err = read_bytes(b"hello, this is not a tarball at all").unwrap_err();
        assert!(err.starts_with("not a tar archive"), "{err}");
        assert!(read_bytes(b"")
            .unwrap_err()
            .starts_with("not a tar archive"));
    }

    #[test]
    fn invalid_names_the_tarball_field_and_the_part() {
        let err = invalid("blobs/sha256/ab", "digest mismatch");
        assert_eq!(
            err.to_string(),
            "invalid config: tarball: blobs/sha256/ab: digest mismatch"
        );
    }

    #[test]
    fn normalise_drops_dots_and_empty_components() {
        assert_eq!(normalise("./a//b/./c"), "a/b/c");
        assert_eq!(normalise("/x"), "x");
    }
}
