//! Container logs in the CRI format, written by the `binary://` log driver that containerd's
//! shim runs for each container, rotated by size.
//!
//! Pure parts: the line format and framing ([`format`]), timestamps ([`time`]), reading logs
//! back ([`parse`]), the log URI and the logger's arguments ([`uri`]). Side effects: the
//! rotating file ([`rotate`]) and the logger process itself ([`driver`]).

use std::os::fd::RawFd;
use std::path::PathBuf;

pub mod driver;
pub mod format;
pub mod parse;
pub mod rotate;
pub mod time;
pub mod uri;

pub use driver::{run_logger, ShimIo};
pub use format::{encode_line, LineFramer, Stream, Tag, MAX_LINE_BYTES};
pub use parse::{parse_line, parse_log, LineError, LogEntry, LogLine, LogParseError, Reassembler};
pub use rotate::{log_files, rotated_path, RotatingFile};
pub use time::{format_timestamp, parse_timestamp};
pub use uri::{binary_command, logger_uri, ArgsError, LoggerArgs, UriError};

/// A failure of the logger or of its log file.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log's directory could not be created.
    #[error("cannot create log directory {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot open log file {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line could not be written.
    #[error("cannot write log file {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be moved aside or removed while rotating.
    #[error("cannot rotate log file {}", path.display())]
    Rotate {
        /// The file being moved or removed.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading the container's stream failed.
    #[error("cannot read the container's {}", stream.as_str())]
    Read {
        /// The stream.
        stream: Stream,
        /// Why.
        source: std::io::Error,
    },
    /// A descriptor the shim passes is not open: the logger was not started by the shim.
    #[error("fd {fd} (container {what}) is not open; the logger is started by containerd's shim with fds 3-5")]
    MissingFd {
        /// The descriptor.
        fd: RawFd,
        /// What it should be.
        what: &'static str,
        /// Why.
        source: nix::Error,
    },
    /// Signal dispositions could not be set.
    #[error("cannot set up signal handling")]
    Signals(#[source] nix::Error),
    /// A thread could not be started.
    #[error("cannot start a thread")]
    Thread(#[source] std::io::Error),
}
