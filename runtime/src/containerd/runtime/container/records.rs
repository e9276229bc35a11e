//! containerd's container records, which hold both sandboxes and containers: fetch, list by
//! label, create, label updates and deletion, plus new ids and in-process name reservations.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use containerd_client::services::v1::{
    Container, CreateContainerRequest, DeleteContainerRequest, GetContainerRequest,
    ListContainersRequest, UpdateContainerRequest,
};

use crate::service::{Call, ObjectKind, ServiceError};

use super::super::super::status::{backend, is_not_found};
use super::super::super::Connection;

/// A new id: 64 lowercase hex characters from the OS's random source.
pub(crate) fn new_id(call: Call) -> Result<String, ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Backend {
        call,
        source: Box::new(std::io::Error::other(e.to_string())),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The record `id`, or `None` when containerd has none.
pub(crate) async fn get(
    conn: &Connection,
    call: Call,
    id: &str,
) -> Result<Option<Container>, ServiceError> {
    let request = conn.request(GetContainerRequest { id: id.to_string() });
    match conn.containers().get(request).await {
        Ok(response) => Ok(response.into_inner().container),
        Err(status) if is_not_found(&status) => Ok(None),
        Err(status) => Err(backend(call, status)),
    }
}

/// Records matching a containerd filter (see [`label_filter`](super::super::super::labels::label_filter)).
pub(crate) async fn list(
    conn: &Connection,
    call: Call,
    filter: String,
) -> Result<Vec<Container>, ServiceError> {
    let request = conn.request(ListContainersRequest {
        filters: vec![filter],
    });
    let response = conn
        .containers()
        .list(request)
        .await
        .map_err(|status| backend(call, status))?;
    Ok(response.into_inner().containers)
}

/// Creates a record.
pub(crate) async fn create(
    conn: &Connection,
    call: Call,
    container: Container,
) -> Result<(), ServiceError> {
    let request = conn.request(CreateContainerRequest {
        container: Some(container),
    });
    conn.containers()
        .create(request)
        .await
        .map_err(|status| backend(call, status))?;
    Ok(())
}

/// Sets these labels on record `id`, leaving the others; `NotFound` of `kind` when absent.
pub(crate) async fn set_labels(
    conn: &Connection,
    call: Call,
    kind: ObjectKind,
    id: &str,
    labels: &[(&str, String)],
) -> Result<(), ServiceError> {
    let paths = labels.iter().map(|(k, _)| format!("labels.{k}")).collect();
    let container = Container {
        id: id.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<HashMap<_, _>>(),
        ..Default::default()
    };
    let request = conn.request(UpdateContainerRequest {
        container: Some(container),
        update_mask: Some(prost_types::FieldMask { paths }),
    });
    match conn.containers().update(request).await {
        Ok(_) => Ok(()),
        Err(status) if is_not_found(&status) => Err(ServiceError::NotFound {
            kind,
            id: id.to_string(),
        }),
        Err(status) => Err(backend(call, status)),
    }
}

/// Deletes record `id`; absent is fine.
pub(crate) async fn delete(conn: &Connection, call: Call, id: &str) -> Result<(), ServiceError> {
    let request = conn.request(DeleteContainerRequest { id: id.to_string() });
    match conn.containers().delete(request).await {
        Ok(_) => Ok(()),
        Err(status) if is_not_found(&status) => Ok(()),
        Err(status) => Err(backend(call, status)),
    }
}

/// Unique names being created right now in this process, per containerd namespace: the
/// label check alone would let two concurrent creates of one name both pass.
static RESERVED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// A unique name held until dropped.
#[derive(Debug)]
pub(crate) struct NameReservation {
    key: String,
}

impl NameReservation {
    /// Reserves `name` in `namespace`; `None` when another create holds it right now.
    pub(crate) fn take(namespace: &str, name: &str) -> Option<Self> {
        let key = format!("{namespace}/{name}");
        let mut reserved = RESERVED.lock().unwrap_or_else(|p| p.into_inner());
        // Lazily: a reservation built and dropped here would lock again and unreserve.
        reserved.insert(key.clone()).then(|| Self { key })
    }
}

impl Drop for NameReservation {
    fn drop(&mut self) {
        let mut reserved = RESERVED.lock().unwrap_or_else(|p| p.into_inner());
        reserved.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_64_lowercase_hex_and_differ() {
        let a = new_id(Call::CreateSandbox).unwrap();
        let b = new_id(Call::CreateSandbox).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn a_name_is_reserved_once_until_released() {
        let held = NameReservation::take("ns-test", "web_default_u_0").unwrap();
        assert!(NameReservation::take("ns-test", "web_default_u_0").is_none());
        assert!(NameReservation::take("ns-other", "web_default_u_0").is_some());
        drop(held);
        assert!(NameReservation::take("ns-test", "web_default_u_0").is_some());
    }
}
