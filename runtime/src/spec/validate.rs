//! Checks a container config before any of it is turned into a spec.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use super::config::{ContainerSpecConfig, MountKind, NamespaceMode, Resources};
use super::error::SpecError;

/// Checks every field of `config`, reporting the first problem found.
pub fn validate(config: &ContainerSpecConfig) -> Result<(), SpecError> {
    validate_process(config)?;
    validate_mounts(config)?;
    validate_namespaces(config)?;
    if let Some(path) = &config.cgroup_path {
        cgroup_path("cgroup_path", path)?;
    }
    validate_resources(&config.resources)?;
    for (i, limit) in config.rlimits.iter().enumerate() {
        if limit.soft > limit.hard {
            return Err(SpecError::SoftAboveHard {
                field: format!("rlimits[{i}]"),
                soft: limit.soft,
                hard: limit.hard,
            });
        }
    }
    for (key, value) in &config.annotations {
        if key.is_empty() {
            return Err(SpecError::Empty {
                field: "annotations.key".into(),
            });
        }
        no_nul(&format!("annotations.{key}"), value)?;
    }
    Ok(())
}

fn validate_process(config: &ContainerSpecConfig) -> Result<(), SpecError> {
    if config.args.is_empty() || config.args[0].is_empty() {
        return Err(SpecError::Empty {
            field: "args".into(),
        });
    }
    for (i, arg) in config.args.iter().enumerate() {
        no_nul(&format!("args[{i}]"), arg)?;
    }
    for (i, (name, value)) in config.env.iter().enumerate() {
        let field = format!("env[{i}]");
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(SpecError::InvalidEnvName {
                field,
                name: name.clone(),
            });
        }
        no_nul(&field, value)?;
    }
    if let Some(dir) = &config.working_dir {
        container_path("working_dir", dir)?;
    }
    let user = &config.user;
    not_reserved("user.uid", user.uid)?;
    not_reserved("user.gid", user.gid)?;
    for (i, gid) in user.additional_gids.iter().enumerate() {
        not_reserved(&format!("user.additional_gids[{i}]"), *gid)?;
    }
    if let Some(name) = &config.hostname {
        hostname("hostname", name)?;
    }
    Ok(())
}

fn validate_mounts(config: &ContainerSpecConfig) -> Result<(), SpecError> {
    let mut seen: BTreeMap<&Path, String> = BTreeMap::new();
    for (i, mount) in config.mounts.iter().enumerate() {
        let field = format!("mounts[{i}]");
        container_path(&format!("{field}.destination"), &mount.destination)?;
        match &mount.kind {
            MountKind::Bind { source, .. } => host_path(&format!("{field}.source"), source)?,
            MountKind::Tmpfs { size_bytes, mode } => {
                if *size_bytes == Some(0) {
                    return Err(SpecError::OutOfRange {
                        field: format!("{field}.size_bytes"),
                        value: 0,
                        min: 1,
                        max: u64::MAX.into(),
                    });
                }
                if let Some(mode) = mode {
                    in_range(&format!("{field}.mode"), (*mode).into(), 0, 0o7777)?;
                }
            }
        }
        let destination = mount.destination.as_path();
        if let Some(first) = seen.get(destination) {
            return Err(SpecError::DuplicateMount {
                field: format!("{field}.destination"),
                destination: destination.display().to_string(),
                first: first.clone(),
            });
        }
        seen.insert(destination, field);
    }
    let files = &config.sandbox_files;
    for (name, path) in [
        ("hosts", &files.hosts),
        ("resolv_conf", &files.resolv_conf),
        ("hostname", &files.hostname),
        ("shm", &files.shm),
    ] {
        if let Some(path) = path {
            host_path(&format!("sandbox_files.{name}"), path)?;
        }
    }
    Ok(())
}

fn validate_namespaces(config: &ContainerSpecConfig) -> Result<(), SpecError> {
    let ns = &config.namespaces;
    for (name, mode) in [
        ("network", &ns.network),
        ("ipc", &ns.ipc),
        ("uts", &ns.uts),
        ("pid", &ns.pid),
        ("cgroup", &ns.cgroup),
    ] {
        if let NamespaceMode::Join(path) = mode {
            host_path(&format!("namespaces.{name}"), path)?;
        }
    }
    if config.hostname.is_some() && ns.uts != NamespaceMode::New {
        return Err(SpecError::HostnameWithoutUtsNamespace {
            field: "hostname".into(),
        });
    }
    Ok(())
}

fn validate_resources(r: &Resources) -> Result<(), SpecError> {
    if let Some(shares) = r.cpu_shares {
        in_range("resources.cpu_shares", shares.into(), 2, 262_144)?;
    }
    if let Some(quota) = r.cpu_quota {
        // -1 means no limit; the kernel's smallest quota is 1ms.
        if quota != -1 {
            in_range("resources.cpu_quota", quota.into(), 1_000, i64::MAX.into())?;
        }
    }
    if let Some(period) = r.cpu_period {
        in_range("resources.cpu_period", period.into(), 1_000, 1_000_000)?;
    }
    if let Some(cpus) = &r.cpuset_cpus {
        cpu_list("resources.cpuset_cpus", cpus)?;
    }
    if let Some(mems) = &r.cpuset_mems {
        cpu_list("resources.cpuset_mems", mems)?;
    }
    if let Some(limit) = r.memory_limit_bytes {
        in_range(
            "resources.memory_limit_bytes",
            limit.into(),
            1,
            i64::MAX.into(),
        )?;
    }
    if let Some(swap) = r.memory_swap_bytes {
        if swap != -1 {
            let min = r.memory_limit_bytes.unwrap_or(1);
            in_range(
                "resources.memory_swap_bytes",
                swap.into(),
                min.into(),
                i64::MAX.into(),
            )?;
        }
    }
    if let Some(pids) = r.pids_limit {
        if pids != -1 {
            in_range("resources.pids_limit", pids.into(), 1, i64::MAX.into())?;
        }
    }
    if let Some(adj) = r.oom_score_adj {
        in_range("resources.oom_score_adj", adj.into(), -1000, 1000)?;
    }
    Ok(())
}

fn no_nul(field: &str, value: &str) -> Result<(), SpecError> {
    if value.contains('\0') {
        return Err(SpecError::NulByte {
            field: field.into(),
        });
    }
    Ok(())
}

fn not_reserved(field: &str, id: u32) -> Result<(), SpecError> {
    if id == u32::MAX {
        return Err(SpecError::ReservedId {
            field: field.into(),
        });
    }
    Ok(())
}

fn in_range(field: &str, value: i128, min: i128, max: i128) -> Result<(), SpecError> {
    if value < min || value > max {
        return Err(SpecError::OutOfRange {
            field: field.into(),
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// An absolute host path without NUL bytes.
fn host_path(field: &str, path: &Path) -> Result<(), SpecError> {
    if path.as_os_str().is_empty() {
        return Err(SpecError::Empty {
            field: field.into(),
        });
    }
    no_nul(field, &path.to_string_lossy())?;
    if !path.is_absolute() {
        return Err(SpecError::NotAbsolute {
            field: field.into(),
        });
    }
    Ok(())
}

/// An absolute container path that does not climb with `..`.
fn container_path(field: &str, path: &Path) -> Result<(), SpecError> {
    host_path(field, path)?;
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(SpecError::ParentComponent {
            field: field.into(),
        });
    }
    Ok(())
}

/// RFC 1123 host name of at most 64 bytes (the kernel's limit).
fn hostname(field: &str, name: &str) -> Result<(), SpecError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.is_empty() || name.len() > 64 || !name.split('.').all(label_ok) {
        return Err(SpecError::InvalidHostname {
            field: field.into(),
            value: name.into(),
        });
    }
    Ok(())
}

/// A cpuset list such as `0-3,6`.
fn cpu_list(field: &str, value: &str) -> Result<(), SpecError> {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let item_ok = |item: &str| match item.split_once('-') {
        Some((lo, hi)) => {
            number(lo)
                && number(hi)
                && matches!((lo.parse::<u32>(), hi.parse::<u32>()), (Ok(a), Ok(b)) if a <= b)
        }
        None => number(item) && item.parse::<u32>().is_ok(),
    };
    if !value.split(',').all(item_ok) {
        return Err(SpecError::InvalidCpuList {
            field: field.into(),
            value: value.into(),
        });
    }
    Ok(())
}

/// cgroupfs paths are absolute; systemd paths are `slice:prefix:name`.
fn cgroup_path(field: &str, value: &str) -> Result<(), SpecError> {
    let parts: Vec<&str> = value.split(':').collect();
    let ok = match parts.as_slice() {
        [path] => path.starts_with('/') && !path.contains('\0'),
        [slice, prefix, name] => {
            slice.ends_with(".slice")
                && !prefix.is_empty()
                && !name.is_empty()
                && !value.contains('/')
        }
        _ => false,
    };
    if !ok {
        return Err(SpecError::InvalidCgroupPath {
            field: field.into(),
            value: value.into(),
        });
    }
    Ok(())
}
