//! The containerd implementation of [`ImageService`](crate::service::ImageService) and
//! [`RuntimeService`](crate::service::RuntimeService), over containerd's native gRPC API.
//!
//! Every object lives in one containerd namespace (default `skiff`), and everything Skiff needs
//! to know is stored in containerd itself: image records and content carry GC labels, sandboxes
//! and containers are container records whose labels name pod uid, namespace, pod name,
//! container name and attempt. A restarted client rebuilds its whole view from containerd.

mod config;
mod conn;
mod content;
pub mod image;
mod labels;
mod lease;
pub mod runtime;
mod status;
mod unpack;

pub use config::{ContainerdConfig, DEFAULT_ADDRESS, DEFAULT_NAMESPACE, LOGGER_BINARY};
pub use conn::ConnectError;
pub use image::ContainerdImages;
pub use runtime::ContainerdRuntime;

pub(crate) use conn::Connection;

use std::sync::Arc;

/// A connection to one containerd namespace, handing out both services.
#[derive(Clone)]
pub struct Containerd {
    conn: Connection,
    config: Arc<ContainerdConfig>,
}

impl Containerd {
    /// Connects to containerd's socket at `config.address` and checks it answers.
    pub async fn connect(config: ContainerdConfig) -> Result<Self, ConnectError> {
        let conn = Connection::connect(&config.address, &config.namespace).await?;
        Ok(Self {
            conn,
            config: Arc::new(config),
        })
    }

    /// The configuration this connection was made with.
    pub fn config(&self) -> &ContainerdConfig {
        &self.config
    }

    /// The image service over this connection.
    pub fn images(&self) -> ContainerdImages {
        ContainerdImages::new(self.conn.clone(), self.config.clone())
    }

    /// The runtime service over this connection: rebuilds the current state from containerd
    /// and starts following its task events.
    pub async fn runtime(&self) -> Result<ContainerdRuntime, crate::service::ServiceError> {
        ContainerdRuntime::start(self.conn.clone(), self.config.clone()).await
    }
}
