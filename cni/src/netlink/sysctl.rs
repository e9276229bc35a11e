//! Writing sysctls under `/proc/sys` from the calling thread: `/proc/sys/net` follows the
//! thread's network namespace, so a thread that entered a namespace configures that one.

use crate::bridge::kernel::NetError;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Writes `value` to `/proc/sys/<key>` (`key` like `net/ipv4/ip_forward`).
pub fn write(key: &str, value: &str) -> Result<(), NetError> {
    let path = path_of(key)?;
    std::fs::write(&path, value).map_err(|source| NetError::Sysctl {
        key: key.into(),
        source,
    })
}

/// The file of a sysctl key; keys that would leave `/proc/sys` are refused.
fn path_of(key: &str) -> Result<PathBuf, NetError> {
    let relative = Path::new(key);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if key.is_empty() || !plain {
        return Err(NetError::Sysctl {
            key: key.into(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "a sysctl key is a relative path under /proc/sys",
            ),
        });
    }
    Ok(Path::new("/proc/sys").join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_maps_under_proc_sys() {
        let p = path_of("net/ipv6/conf/cni0/accept_ra").unwrap();
        assert_eq!(p, Path::new("/proc/sys/net/ipv6/conf/cni0/accept_ra"));
    }

    #[test]
    fn keys_escaping_proc_sys_are_refused() {
        for key in ["", "/etc/passwd", "net/../../etc/passwd", "./net"] {
            assert!(
                matches!(path_of(key), Err(NetError::Sysctl { .. })),
                "{key:?} accepted"
            );
        }
    }
}
