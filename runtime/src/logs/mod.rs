//! Container logs in the CRI format, written by the `binary://` log driver that containerd's
//! shim runs for each container, rotated by size.

use std::path::Path;

/// The `binary://` URI telling containerd's shim to run `logger` for a container whose log
/// goes to `log_path`, rotated past `max_bytes` keeping `max_files` old files.
pub fn logger_uri(logger: &Path, log_path: &Path, max_bytes: u64, max_files: u32) -> String {
    let _ = (logger, log_path, max_bytes, max_files);
    unimplemented!("logger_uri")
}
