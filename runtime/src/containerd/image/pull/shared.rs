//! Concurrent pulls of one image share one download: the first starts it, the others wait
//! for its result.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt, Shared};

use crate::reference::Digest;
use crate::service::{Call, ImageInfo, RegistryAuth, ServiceError};

/// A pull's result as every waiter sees it.
pub(crate) type SharedPull = Shared<BoxFuture<'static, Result<ImageInfo, Arc<ServiceError>>>>;

/// Pulls in progress, so concurrent pulls of one image share a download.
#[derive(Default)]
pub(crate) struct InFlight {
    pulls: Mutex<HashMap<String, SharedPull>>,
}

impl InFlight {
    /// The pull in progress under `key`, else the one `start` makes (kept until it ends).
    pub(crate) fn join_or_start(
        self: &Arc<Self>,
        key: String,
        start: impl FnOnce(Finished) -> BoxFuture<'static, Result<ImageInfo, Arc<ServiceError>>>,
    ) -> SharedPull {
        let mut pulls = self.pulls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pull) = pulls.get(&key) {
            return pull.clone();
        }
        let finished = Finished {
            pulls: self.clone(),
            key: key.clone(),
        };
        let pull = start(finished).shared();
        pulls.insert(key, pull.clone());
        pull
    }

    /// How many pulls are in progress.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pulls.lock().unwrap().len()
    }
}

/// Held by a running pull; dropping it (when the pull ends, however) forgets the pull.
pub(crate) struct Finished {
    pulls: Arc<InFlight>,
    key: String,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let mut pulls = self.pulls.pulls.lock().unwrap_or_else(|e| e.into_inner());
        pulls.remove(&self.key);
    }
}

/// The key pulls share a download under: the reference and who asks (a digest of the
/// credentials, so a pull with other credentials never gets this one's result).
pub(crate) fn key(reference: &str, auth: Option<&RegistryAuth>) -> String {
    let who = match auth {
        None => "anonymous".to_string(),
        Some(RegistryAuth::Basic { username, password }) => {
            let secret = format!("{}:{username}:{password}", username.len());
            format!("basic {}", Digest::sha256_of(secret.as_bytes()))
        }
        Some(RegistryAuth::Bearer { token }) => {
            format!("bearer {}", Digest::sha256_of(token.as_bytes()))
        }
    };
    format!("{reference} {who}")
}

/// A waiter's own copy of a shared failure: same variant and fields; sources are shared.
pub(crate) fn unshare(error: &Arc<ServiceError>) -> ServiceError {
    let cause = || Box::new(SharedCause(error.clone()));
    match &**error {
        ServiceError::ImageNotFound { reference } => ServiceError::ImageNotFound {
            reference: reference.clone(),
        },
        ServiceError::Unauthorized {
            registry,
            reference,
        } => ServiceError::Unauthorized {
            registry: registry.clone(),
            reference: reference.clone(),
        },
        ServiceError::RegistryUnreachable { registry, .. } => ServiceError::RegistryUnreachable {
            registry: registry.clone(),
            source: cause(),
        },
        ServiceError::InvalidConfig { field, reason } => ServiceError::InvalidConfig {
            field: field.clone(),
            reason: reason.clone(),
        },
        ServiceError::Timeout { call, after } => ServiceError::Timeout {
            call: *call,
            after: *after,
        },
        ServiceError::Backend { call, .. } => ServiceError::Backend {
            call: *call,
            source: cause(),
        },
        _ => ServiceError::Backend {
            call: Call::PullImage,
            source: Box::new(SharedError(error.clone())),
        },
    }
}

/// The source of a shared failure, shown as that failure's own source.
#[derive(Debug)]
struct SharedCause(Arc<ServiceError>);

impl fmt::Display for SharedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::error::Error::source(&*self.0) {
            Some(source) => fmt::Display::fmt(source, f),
            None => fmt::Display::fmt(&*self.0, f),
        }
    }
}

impl std::error::Error for SharedCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0).and_then(|s| s.source())
    }
}

/// A whole shared failure as the source of another.
#[derive(Debug)]
struct SharedError(Arc<ServiceError>);

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ObjectKind;

    #[test]
    fn shared_failures_keep_their_kind_and_cause() {
        let not_found = Arc::new(ServiceError::ImageNotFound {
            reference: "r".into(),
        });
        assert!(
            matches!(unshare(&not_found), ServiceError::ImageNotFound { reference } if reference == "r")
        );
        let unauthorized = Arc::new(ServiceError::Unauthorized {
            registry: "g".into(),
            reference: "r".into(),
        });
        assert!(matches!(
            unshare(&unauthorized),
            ServiceError::Unauthorized { .. }
        ));
        let unreachable = Arc::new(ServiceError::RegistryUnreachable {
            registry: "g".into(),
            source: Box::new(std::io::Error::other("connection refused")),
        });
        let copy = unshare(&unreachable);
        assert!(copy.is_transient());
        let source = std::error::Error::source(&copy).unwrap();
        assert_eq!(source.to_string(), "connection refused");
        let backend = Arc::new(ServiceError::Backend {
            call: Call::PullImage,
            source: Box::new(std::io::Error::other("disk full")),
        });
        let copy = unshare(&backend);
        assert!(matches!(
            copy,
            ServiceError::Backend {
                call: Call::PullImage,
                ..
            }
        ));
        assert_eq!(
            std::error::Error::source(&copy).unwrap().to_string(),
            "disk full"
        );
        let other = Arc::new(ServiceError::NotFound {
            kind: ObjectKind::Container,
            id: "c".into(),
        });
        assert!(matches!(unshare(&other), ServiceError::Backend { .. }));
    }

    #[test]
    fn pulls_share_only_with_the_same_reference_and_credentials() {
        let basic = |p: &str| RegistryAuth::Basic {
            username: "u".into(),
            password: p.into(),
        };
        assert_eq!(key("r", None), key("r", None));
        assert_ne!(key("r", None), key("s", None));
        assert_ne!(key("r", None), key("r", Some(&basic("a"))));
        assert_ne!(key("r", Some(&basic("a"))), key("r", Some(&basic("b"))));
        assert!(!key("r", Some(&basic("secret"))).contains("secret"));
    }

    #[test]
    fn a_second_waiter_joins_and_the_entry_goes_when_the_pull_ends() {
        let pulls = Arc::new(InFlight::default());
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let mut started = 0;
        let first = pulls.join_or_start("k".into(), |finished| {
            started += 1;
            async move {
                let _ = rx.await;
                drop(finished);
                Err(Arc::new(ServiceError::ImageNotFound {
                    reference: "k".into(),
                }))
            }
            .boxed()
        });
        let second = pulls.join_or_start("k".into(), |_| unreachable!("joins the first"));
        assert_eq!(started, 1);
        assert_eq!(pulls.len(), 1);
        tx.send(()).unwrap();
        let (a, b) = futures::executor::block_on(futures::future::join(first, second));
        assert!(a.is_err() && b.is_err());
        assert_eq!(pulls.len(), 0);
    }
}
