//! containerd leases: what a pull or import writes stays alive until the image record (with
//! its GC labels) holds it, and a crash mid-way leaves a lease that expires on its own.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use containerd_client::services::v1::{AddResourceRequest, CreateRequest, DeleteRequest, Resource};

use crate::service::{Call, ServiceError};

use super::status::{backend, is_not_found, OrBackend};
use super::Connection;

/// containerd's GC drops a lease carrying this label once the RFC 3339 time it holds is past.
pub(crate) const LABEL_GC_EXPIRE: &str = "containerd.io/gc.expire";

/// Label naming what a lease was taken for (e.g. `pull`), for operators listing leases.
pub(crate) const LABEL_PURPOSE: &str = "io.skiff.lease.purpose";

/// A lease held while an image is written; release it once the image record exists.
#[derive(Debug)]
pub(crate) struct Lease {
    id: String,
}

impl Lease {
    /// Creates a lease that containerd's GC drops by itself after `expire`.
    pub(crate) async fn create(
        conn: &Connection,
        call: Call,
        purpose: &str,
        expire: Duration,
    ) -> Result<Lease, ServiceError> {
        let id = lease_id(purpose, &random_hex(8));
        let expires_at = SystemTime::now() + expire;
        let labels = HashMap::from([
            (LABEL_GC_EXPIRE.to_string(), rfc3339(expires_at)),
            (LABEL_PURPOSE.to_string(), purpose.to_string()),
        ]);
        conn.leases()
            .create(conn.request(CreateRequest {
                id: id.clone(),
                labels,
            }))
            .await
            .or_backend(call)?;
        tracing::debug!(lease = %id, purpose, expire_secs = expire.as_secs(), "lease created");
        Ok(Lease { id })
    }

    /// The lease id (the `containerd-lease` header of leased requests).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Adds a blob that is already in the content store to the lease, so the GC keeps it
    /// until the image record references it.
    pub(crate) async fn hold_content(
        &self,
        conn: &Connection,
        call: Call,
        digest: &str,
    ) -> Result<(), ServiceError> {
        conn.leases()
            .add_resource(conn.request(AddResourceRequest {
                id: self.id.clone(),
                resource: Some(Resource {
                    id: digest.to_string(),
                    r#type: "content".to_string(),
                }),
            }))
            .await
            .or_backend(call)?;
        Ok(())
    }

    /// Deletes the lease, synchronously collecting what nothing else references.
    pub(crate) async fn release(self, conn: &Connection, call: Call) -> Result<(), ServiceError> {
        let deleted = conn
            .leases()
            .delete(conn.request(DeleteRequest {
                id: self.id.clone(),
                sync: true,
            }))
            .await;
        match deleted {
            Ok(_) => {
                tracing::debug!(lease = %self.id, "lease released");
                Ok(())
            }
            Err(status) if is_not_found(&status) => Ok(()),
            Err(status) => Err(backend(call, status)),
        }
    }
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A valid containerd identifier for a lease taken for `purpose`: `skiff-<purpose>-<suffix>`,
/// with characters containerd refuses replaced by `-`.
fn lease_id(purpose: &str, suffix: &str) -> String {
    let purpose: String = purpose
        .chars()
        .take(32)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let purpose = purpose.trim_matches('-');
    if purpose.is_empty() {
        format!("skiff-{suffix}")
    } else {
        format!("skiff-{purpose}-{suffix}")
    }
}

/// `time` in RFC 3339 UTC with second precision, e.g. `2024-03-01T12:00:05Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_seconds() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723); // 2000-02-29T01:02:03Z
        assert_eq!(rfc3339(t), "2000-02-29T01:02:03Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_294_405); // 2024-03-01T12:00:05Z
        assert_eq!(rfc3339(t), "2024-03-01T12:00:05Z");
        let t = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        assert_eq!(rfc3339(t), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn lease_id_is_a_containerd_identifier() {
        assert_eq!(lease_id("pull", "ab12"), "skiff-pull-ab12");
        assert_eq!(
            lease_id("pull docker.io/busybox", "ab"),
            "skiff-pull-docker-io-busybox-ab"
        );
        assert_eq!(lease_id("", "ab"), "skiff-ab");
        assert!(lease_id(&"x".repeat(100), &random_hex(8)).len() <= 76);
    }

    #[test]
    fn random_hex_has_two_chars_per_byte() {
        let a = random_hex(8);
        assert_eq!(a.len(), 16);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, random_hex(8));
    }
}
