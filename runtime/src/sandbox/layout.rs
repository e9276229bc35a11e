//! Where pins live and which names are acceptable: pure computations, no I/O.

use super::{NsKind, SandboxError};
use std::path::{Path, PathBuf};

/// The default run dir, under which each pod gets `<pod_id>/{net,ipc,uts}`.
pub const DEFAULT_RUN_DIR: &str = "/run/skiff/netns";

/// The longest hostname the kernel accepts (`HOST_NAME_MAX`).
const HOST_NAME_MAX: usize = 64;

/// Checks that a pod id is a single safe path component.
pub fn validate_pod_id(pod_id: &str) -> Result<(), SandboxError> {
    let ok = !pod_id.is_empty()
        && pod_id.len() <= 255
        && pod_id != "."
        && pod_id != ".."
        && pod_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(SandboxError::InvalidPodId(pod_id.to_string()))
    }
}

/// Checks that the kernel will accept a hostname.
pub fn validate_hostname(hostname: &str) -> Result<(), SandboxError> {
    if hostname.is_empty() || hostname.len() > HOST_NAME_MAX || hostname.contains('\0') {
        return Err(SandboxError::InvalidHostname(hostname.to_string()));
    }
    Ok(())
}

/// The pod's directory under the run dir.
pub fn pod_dir(run_dir: &Path, pod_id: &str) -> PathBuf {
    run_dir.join(pod_id)
}

/// The pin file of one namespace type.
pub fn pin_path(run_dir: &Path, pod_id: &str, kind: NsKind) -> PathBuf {
    pod_dir(run_dir, pod_id).join(kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_ids_that_would_escape_the_run_dir_are_rejected() {
        for bad in ["", ".", "..", "a/b", "../x", "a b", "x\0"] {
            assert!(validate_pod_id(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["pod-1", "0b7c.uid_x", "a..b"] {
            validate_pod_id(good).unwrap();
        }
        assert!(validate_pod_id(&"a".repeat(256)).is_err());
    }

    #[test]
    fn hostnames_longer_than_the_kernel_limit_are_rejected() {
        validate_hostname(&"h".repeat(64)).unwrap();
        assert!(validate_hostname(&"h".repeat(65)).is_err());
        assert!(validate_hostname("").is_err());
        assert!(validate_hostname("a\0b").is_err());
    }

    #[test]
    fn pins_are_named_after_their_namespace_type() {
        let run = Path::new("/run/skiff/netns");
        assert_eq!(
            pin_path(run, "p1", NsKind::Net),
            Path::new("/run/skiff/netns/p1/net")
        );
        assert_eq!(
            pin_path(run, "p1", NsKind::Uts),
            Path::new("/run/skiff/netns/p1/uts")
        );
    }
}
