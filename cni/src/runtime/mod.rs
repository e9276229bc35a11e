//! The runtime side: load network configuration lists and run plugin chains, as libcni does.
//!
//! ```no_run
//! use skiff_cni::runtime::{AttachmentArgs, Network, NetworkConfigList, RuntimeOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = NetworkConfigList::load_dir("/etc/cni/net.d".as_ref(), None)?;
//! let network = Network::new(config, RuntimeOptions::default());
//! let pod = AttachmentArgs::new("c0ffee", Some("/run/skiff/netns/pod".into()), "eth0");
//! let result = network.add(&pod)?;
//! network.check(&pod)?;
//! network.del(&pod)?;
//! # let _ = result; Ok(()) }
//! ```

mod base64;
pub mod cache;
pub mod config;
pub mod error;
pub mod exec;
pub mod fake;
pub mod network;
pub mod request;

pub use cache::{CacheEntry, ResultCache};
pub use config::{ConfigError, NetworkConfigList, PluginConfig};
pub use error::{PluginRef, RuntimeError};
pub use exec::{ExecError, PluginCall, PluginExec, ProcessExec};
pub use fake::{RecordedCall, RecordingExec};
pub use network::{Network, RuntimeOptions, Timeouts};
pub use request::AttachmentArgs;
