//! The control plane's PKI: a CA, the serving certificate and the admin client certificate
//! under `DIR/tls/`, created on first start and reused afterwards, and the admin kubeconfig.
//! Leaf certificates are valid for a year and are re-issued at start when fewer than 90 days
//! remain (the CA, valid ten years, is kept), as k3s does.

mod issue;
mod kubeconfig;
mod tls;

use std::path::{Path, PathBuf};

pub use issue::{Identity, Pki};

/// PKI files that cannot be created or used.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A certificate or key cannot be generated or parsed.
    #[error("{what} certificate: {reason}")]
    Certificate {
        /// Which certificate.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `contents` to `path` atomically (temp file + rename), private files with mode 0600.
fn write(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(&tmp)
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
