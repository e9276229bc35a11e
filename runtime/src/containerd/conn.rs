//! One gRPC channel to containerd, and requests scoped to Skiff's namespace (and a lease).

use std::path::{Path, PathBuf};

use containerd_client::services::v1::{
    containers_client::ContainersClient, content_client::ContentClient, diff_client::DiffClient,
    events_client::EventsClient, images_client::ImagesClient, leases_client::LeasesClient,
    snapshots::snapshots_client::SnapshotsClient, tasks_client::TasksClient,
    version_client::VersionClient,
};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// Why containerd could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The namespace is not a valid containerd identifier.
    #[error("invalid containerd namespace {0:?}")]
    InvalidNamespace(String),
    /// The socket could not be connected to.
    #[error("cannot connect to containerd at {address}")]
    Connect {
        /// The socket path.
        address: PathBuf,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },
    /// containerd did not answer its version call.
    #[error("containerd at {address} does not answer")]
    Version {
        /// The socket path.
        address: PathBuf,
        /// The gRPC status.
        #[source]
        source: tonic::Status,
    },
}

/// A cheap-to-clone channel to containerd bound to one namespace.
#[derive(Clone)]
pub(crate) struct Connection {
    channel: Channel,
    namespace: MetadataValue<tonic::metadata::Ascii>,
    namespace_name: String,
}

impl Connection {
    /// Connects to the socket and checks containerd answers.
    pub(crate) async fn connect(address: &Path, namespace: &str) -> Result<Self, ConnectError> {
        let valid = !namespace.is_empty()
            && namespace.len() <= 76
            && namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        let value = namespace
            .parse()
            .ok()
            .filter(|_| valid)
            .ok_or_else(|| ConnectError::InvalidNamespace(namespace.to_string()))?;
        let channel = containerd_client::connect(address)
            .await
            .map_err(|source| ConnectError::Connect {
                address: address.to_path_buf(),
                source,
            })?;
        let conn = Self {
            channel,
            namespace: value,
            namespace_name: namespace.to_string(),
        };
        let version = conn
            .version()
            .version(())
            .await
            .map_err(|source| ConnectError::Version {
                address: address.to_path_buf(),
                source,
            })?
            .into_inner();
        tracing::debug!(address = %address.display(), namespace, version = %version.version, "connected to containerd");
        Ok(conn)
    }

    /// The containerd namespace of every request.
    pub(crate) fn namespace(&self) -> &str {
        &self.namespace_name
    }

    /// A request in Skiff's namespace.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        req.metadata_mut()
            .insert("containerd-namespace", self.namespace.clone());
        req
    }

    /// A request in Skiff's namespace whose new objects are held by `lease` until it ends.
    pub(crate) fn leased<T>(&self, message: T, lease: &str) -> tonic::Request<T> {
        let mut req = self.request(message);
        if let Ok(value) = lease.parse() {
            req.metadata_mut().insert("containerd-lease", value);
        }
        req
    }

    /// Containers service.
    pub(crate) fn containers(&self) -> ContainersClient<Channel> {
        ContainersClient::new(self.channel.clone())
    }

    /// Content store.
    pub(crate) fn content(&self) -> ContentClient<Channel> {
        ContentClient::new(self.channel.clone())
            .max_decoding_message_size(64 * 1024 * 1024)
            .max_encoding_message_size(64 * 1024 * 1024)
    }

    /// Diff (layer apply) service.
    pub(crate) fn diff(&self) -> DiffClient<Channel> {
        DiffClient::new(self.channel.clone())
    }

    /// Events service.
    pub(crate) fn events(&self) -> EventsClient<Channel> {
        EventsClient::new(self.channel.clone())
    }

    /// Images service.
    pub(crate) fn images(&self) -> ImagesClient<Channel> {
        ImagesClient::new(self.channel.clone())
    }

    /// Leases service.
    pub(crate) fn leases(&self) -> LeasesClient<Channel> {
        LeasesClient::new(self.channel.clone())
    }

    /// Snapshots service.
    pub(crate) fn snapshots(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel.clone())
    }

    /// Tasks service.
    pub(crate) fn tasks(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone())
    }

    /// Version service.
    pub(crate) fn version(&self) -> VersionClient<Channel> {
        VersionClient::new(self.channel.clone())
    }
}
