//! The `binary://` log URI handed to containerd, and the arguments the logger receives from it.
//!
//! containerd's shim (`pkg/process`, `NewBinaryCmd`) runs the URI's path with, for each query
//! key, the key and its first value as two arguments, in Go map order (random), the query
//! decoded by Go's `url.ParseQuery` (`+` is a space, a pair with `;` or a bad escape is
//! dropped). So every byte outside `A-Za-z0-9-._~/` is percent-encoded here, and the logger
//! accepts its `key value` pairs in any order.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Query key of the log file path.
pub const PATH_KEY: &str = "path";
/// Query key of the size (bytes) past which the log file is rotated.
pub const MAX_SIZE_KEY: &str = "max-size";
/// Query key of the number of rotated files kept.
pub const MAX_FILES_KEY: &str = "max-files";

/// Rotation size when the arguments give none (the kubelet's default, 10 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated files kept when the arguments give none.
pub const DEFAULT_MAX_FILES: u32 = 5;

/// The `binary://` URI telling containerd's shim to run `logger` for a container whose log
/// goes to `log_path`, rotated past `max_bytes` keeping `max_files` old files. Both paths
/// should be absolute (the shim runs the logger in the container's bundle directory).
pub fn logger_uri(logger: &Path, log_path: &Path, max_bytes: u64, max_files: u32) -> String {
    let mut uri = String::from("binary://");
    escape(logger.as_os_str().as_bytes(), &mut uri);
    uri.push('?');
    uri.push_str(PATH_KEY);
    uri.push('=');
    escape(log_path.as_os_str().as_bytes(), &mut uri);
    uri.push_str(&format!(
        "&{MAX_SIZE_KEY}={max_bytes}&{MAX_FILES_KEY}={max_files}"
    ));
    uri
}

/// What the logger was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerArgs {
    /// The log file.
    pub path: PathBuf,
    /// Rotate before the file would grow past this many bytes (0: never).
    pub max_bytes: u64,
    /// Rotated files kept besides the current one.
    pub max_files: u32,
}

/// Arguments the logger cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// A key came last, without its value.
    #[error("argument {0} has no value")]
    MissingValue(String),
    /// A key the logger does not know.
    #[error("unknown argument {0} (expected {PATH_KEY}, {MAX_SIZE_KEY}, {MAX_FILES_KEY})")]
    UnknownKey(String),
    /// A key given twice.
    #[error("argument {0} is given twice")]
    Duplicate(String),
    /// A size or count that is not a non-negative integer.
    #[error("argument {key} = {value:?} is not a non-negative integer")]
    BadNumber {
        /// The key.
        key: String,
        /// The value given.
        value: String,
    },
    /// No log file path.
    #[error("argument {PATH_KEY} (the log file) is missing")]
    MissingPath,
}

impl LoggerArgs {
    /// Reads `key value` pairs in any order (keys bare as the shim passes them, or with `-`
    /// or `--` as a person would type them). `max-size` and `max-files` have defaults.
    pub fn from_args<I>(args: I) -> Result<Self, ArgsError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut path = None;
        let mut max_bytes = None;
        let mut max_files = None;
        let mut args = args.into_iter().map(Into::into);
        while let Some(key) = args.next() {
            let key = key.to_string_lossy().trim_start_matches('-').to_string();
            let value = args
                .next()
                .ok_or_else(|| ArgsError::MissingValue(key.clone()))?;
            let set = match key.as_str() {
                PATH_KEY => path.replace(PathBuf::from(value)).is_some(),
                MAX_SIZE_KEY => max_bytes.replace(number(&key, &value)?).is_some(),
                MAX_FILES_KEY => max_files.replace(number(&key, &value)?).is_some(),
                _ => return Err(ArgsError::UnknownKey(key)),
            };
            if set {
                return Err(ArgsError::Duplicate(key));
            }
        }
        Ok(LoggerArgs {
            path: path
                .filter(|p| !p.as_os_str().is_empty())
                .ok_or(ArgsError::MissingPath)?,
            max_bytes: max_bytes.unwrap_or(DEFAULT_MAX_BYTES),
            max_files: max_files.unwrap_or(DEFAULT_MAX_FILES),
        })
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &OsStr) -> Result<T, ArgsError> {
    value
        .to_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ArgsError::BadNumber {
            key: key.to_string(),
            value: value.to_string_lossy().into_owned(),
        })
}

/// A `binary://` URI that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The scheme is not `binary://`.
    #[error("log URI {0:?} does not start with binary://")]
    NotBinary(String),
    /// A `%` not followed by two hex digits in the path.
    #[error("log URI {0:?} has a bad percent escape in its path")]
    BadEscape(String),
}

/// The command containerd's shim runs for a `binary://` URI: the program (the URI's path) and
/// its arguments, each query key followed by its first value, in order of first appearance.
pub fn binary_command(uri: &str) -> Result<(PathBuf, Vec<OsString>), UriError> {
    let rest = uri
        .strip_prefix("binary://")
        .ok_or_else(|| UriError::NotBinary(uri.to_string()))?;
    let rest = rest.split('#').next().unwrap_or_default();
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    // Anything before the first `/` is the (unused) host.
    let path = location.find('/').map_or("", |at| &location[at..]);
    let path = unescape(path, false).ok_or_else(|| UriError::BadEscape(uri.to_string()))?;
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for pair in query
        .split('&')
        .filter(|p| !p.is_empty() && !p.contains(';'))
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(key), Some(value)) = (unescape(key, true), unescape(value, true)) else {
            continue;
        };
        if !pairs.iter().any(|(k, _)| *k == key) {
            pairs.push((key, value));
        }
    }
    let args = pairs
        .into_iter()
        .flat_map(|(k, v)| [OsString::from_vec(k), OsString::from_vec(v)])
        .collect();
    Ok((PathBuf::from(OsString::from_vec(path)), args))
}

/// Percent-encodes every byte outside `A-Za-z0-9-._~/`.
fn escape(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Decodes `%XX` escapes (and `+` as a space in a query); `None` on a bad escape.
fn unescape(text: &str, query: bool) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if query => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_an_escaped_binary_uri() {
        let uri = logger_uri(
            Path::new("/usr/local/bin/skiff-container-logger"),
            Path::new("/var/log/pods/ns_pod uid+1;x/c/0.log"),
            10_485_760,
            5,
        );
        assert_eq!(
            uri,
            "binary:///usr/local/bin/skiff-container-logger\
             ?path=/var/log/pods/ns_pod%20uid%2B1%3Bx/c/0.log&max-size=10485760&max-files=5"
        );
    }

    #[test]
    fn round_trips_through_the_shim_command_line() {
        let logger = Path::new("/opt/my bin/logger?#%");
        let log = PathBuf::from(OsString::from_vec(
            b"/tmp/a b/\xff&=+;%\n\t\"'.log".to_vec(),
        ));
        let uri = logger_uri(logger, &log, 123, 0);
        let (program, args) = binary_command(&uri).unwrap();
        assert_eq!(program, logger);
        let parsed = LoggerArgs::from_args(args.clone()).unwrap();
        assert_eq!(
            parsed,
            LoggerArgs {
                path: log,
                max_bytes: 123,
                max_files: 0
            }
        );
        // The shim passes pairs in random order.
        let mut pairs: Vec<_> = args.chunks(2).map(<[OsString]>::to_vec).collect();
        pairs.reverse();
        assert_eq!(LoggerArgs::from_args(pairs.concat()).unwrap(), parsed);
    }

    #[test]
    fn decodes_like_go_parse_query() {
        let (program, args) =
            binary_command("binary://host/bin/x?a=1+2&b;=2&c=%zz&d&a=3#frag").unwrap();
        assert_eq!(program, Path::new("/bin/x"));
        let args: Vec<_> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(args, ["a", "1 2", "d", ""]);
        assert!(matches!(
            binary_command("fifo:///x"),
            Err(UriError::NotBinary(_))
        ));
        assert!(matches!(
            binary_command("binary:///x%2"),
            Err(UriError::BadEscape(_))
        ));
    }

    #[test]
    fn accepts_dashed_keys_and_defaults() {
        let args = LoggerArgs::from_args(["--path", "/l/0.log"]).unwrap();
        assert_eq!(args.max_bytes, DEFAULT_MAX_BYTES);
        assert_eq!(args.max_files, DEFAULT_MAX_FILES);
        let args = LoggerArgs::from_args(["-max-files", "2", "path", "/l"]).unwrap();
        assert_eq!((args.path, args.max_files), (PathBuf::from("/l"), 2));
    }

    #[test]
    fn rejects_bad_arguments() {
        let err = |args: &[&str]| LoggerArgs::from_args(args.iter().copied()).unwrap_err();
        assert_eq!(err(&["path"]), ArgsError::MissingValue("path".into()));
        assert_eq!(err(&["size", "1"]), ArgsError::UnknownKey("size".into()));
        assert_eq!(
            err(&["path", "/a", "path", "/b"]),
            ArgsError::Duplicate("path".into())
        );
        assert_eq!(
            err(&["path", "/a", "max-size", "-1"]),
            ArgsError::BadNumber {
                key: "max-size".into(),
                value: "-1".into()
            }
        );
        assert_eq!(err(&[]), ArgsError::MissingPath);
        assert_eq!(err(&["path", ""]), ArgsError::MissingPath);
    }
}
