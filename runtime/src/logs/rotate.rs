//! A log file rotated by size: `path` is current, `path.1` the newest old file, `path.N` the
//! oldest kept.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::LogError;

/// Permissions of log files: the owner writes, the group reads.
pub const LOG_FILE_MODE: u32 = 0o640;

/// `path.n`, the `n`th newest rotated file of the log at `path`.
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The files of the log at `path` that exist, oldest first: `path.N` .. `path.1`, `path`.
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..)
        .map(|n| rotated_path(path, n))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    if path.exists() {
        files.push(path.to_path_buf());
    }
    files
}

/// Whether writing `line_len` more bytes to a file of `size` bytes starts a new file: only a
/// non-empty file is rotated, so a line longer than the limit still gets written.
pub fn needs_rotation(size: u64, line_len: u64, max_bytes: u64) -> bool {
    max_bytes > 0 && size > 0 && size.saturating_add(line_len) > max_bytes
}

/// An append-only log file that moves itself aside before it would grow past `max_bytes`
/// (0: never), keeping `max_files` old files. Lines are written whole, each in one `write`.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    file: File,
    size: u64,
}

impl RotatingFile {
    /// Opens (appending) or creates the log at `path`, and its directory if missing.
    pub fn open(path: &Path, max_bytes: u64, max_files: u32) -> Result<Self, LogError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LogError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let file = open_append(path)?;
        let size = file
            .metadata()
            .map_err(|source| LogError::Open {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes,
            max_files,
            file,
            size,
        })
    }

    /// The current file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one whole line (or several, written together), rotating first if it would not
    /// fit.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), LogError> {
        if needs_rotation(self.size, line.len() as u64, self.max_bytes) {
            self.rotate()?;
        }
        self.file
            .write_all(line)
            .map_err(|source| LogError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Shifts `path.(n-1)` to `path.n` down to `path` to `path.1` (the oldest falls off), then
    /// starts an empty `path`.
    fn rotate(&mut self) -> Result<(), LogError> {
        let rename = |from: &Path, to: &Path| {
            std::fs::rename(from, to).map_err(|source| LogError::Rotate {
                path: from.to_path_buf(),
                source,
            })
        };
        if self.max_files == 0 {
            std::fs::remove_file(&self.path).map_err(|source| LogError::Rotate {
                path: self.path.clone(),
                source,
            })?;
        } else {
            for n in (1..self.max_files).rev() {
                let from = rotated_path(&self.path, n);
                if from.exists() {
                    rename(&from, &rotated_path(&self.path, n + 1))?;
                }
            }
            rename(&self.path, &rotated_path(&self.path, 1))?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        tracing::debug!(path = %self.path.display(), "rotated container log");
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, LogError> {
    let open_err = |source| LogError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(LOG_FILE_MODE)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(open_err)?;
    // The mode given to open is masked by the umask; set it exactly.
    file.set_permissions(Permissions::from_mode(LOG_FILE_MODE))
        .map_err(open_err)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn rotation_needs_a_nonempty_file_that_would_overflow() {
        assert!(!needs_rotation(0, 100, 10));
        assert!(!needs_rotation(5, 5, 10));
        assert!(needs_rotation(5, 6, 10));
        assert!(!needs_rotation(5, 600, 0));
    }

    #[test]
    fn rotates_whole_lines_and_keeps_max_files_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods/c/0.log");
        let mut log = RotatingFile::open(&path, 8, 2).unwrap();
        for line in ["aaaa\n", "bbb\n", "cc\n", "d\n", "eeeeeeeeeeee\n", "f\n"] {
            log.write_line(line.as_bytes()).unwrap();
        }
        assert_eq!(read(&path), "f\n");
        assert_eq!(read(&rotated_path(&path, 1)), "eeeeeeeeeeee\n");
        assert_eq!(read(&rotated_path(&path, 2)), "d\n");
        assert!(!rotated_path(&path, 3).exists());
        assert_eq!(
            log_files(&path),
            vec![rotated_path(&path, 2), rotated_path(&path, 1), path.clone()]
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, LOG_FILE_MODE);
    }

    #[test]
    fn reopening_appends_and_counts_the_existing_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        RotatingFile::open(&path, 10, 1)
            .unwrap()
            .write_line(b"12345\n")
            .unwrap();
        let mut log = RotatingFile::open(&path, 10, 1).unwrap();
        log.write_line(b"678\n").unwrap();
        assert_eq!(read(&path), "12345\n678\n");
        log.write_line(b"9\n").unwrap();
        assert_eq!(read(&path), "9\n");
        assert_eq!(read(&rotated_path(&path, 1)), "12345\n678\n");
    }

    #[test]
    fn zero_max_files_keeps_no_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let mut log = RotatingFile::open(&path, 4, 0).unwrap();
        log.write_line(b"abc\n").unwrap();
        log.write_line(b"de\n").unwrap();
        assert_eq!(read(&path), "de\n");
        assert_eq!(log_files(&path), vec![path.clone()]);
    }
}
