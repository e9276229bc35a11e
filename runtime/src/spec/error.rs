//! Why a container config cannot become an OCI spec; every error names the field.

/// A container config that cannot become an OCI spec, naming the offending field
/// (`args`, `user.uid`, `mounts[2].destination`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A required value is empty.
    #[error("{field}: empty")]
    Empty {
        /// The offending field.
        field: String,
    },
    /// A path that must be absolute is relative.
    #[error("{field}: must be absolute")]
    NotAbsolute {
        /// The offending field.
        field: String,
    },
    /// A container path climbs out with `..`.
    #[error("{field}: must not contain \"..\"")]
    ParentComponent {
        /// The offending field.
        field: String,
    },
    /// A string holds a NUL byte, which cannot cross into the kernel.
    #[error("{field}: contains a NUL byte")]
    NulByte {
        /// The offending field.
        field: String,
    },
    /// A number lies outside what the kernel accepts.
    #[error("{field}: {value} is outside {min}..={max}")]
    OutOfRange {
        /// The offending field.
        field: String,
        /// The value given.
        value: i128,
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// An id is `(uid_t)-1`, which the kernel reserves.
    #[error("{field}: 4294967295 is reserved")]
    ReservedId {
        /// The offending field.
        field: String,
    },
    /// A capability name is not a Linux capability.
    #[error("{field}: unknown capability {name:?}")]
    UnknownCapability {
        /// The offending field.
        field: String,
        /// The name given.
        name: String,
    },
    /// An environment variable name is empty or contains `=`.
    #[error("{field}: invalid variable name {name:?}")]
    InvalidEnvName {
        /// The offending field.
        field: String,
        /// The name given.
        name: String,
    },
    /// A hostname is not a valid RFC 1123 host name of at most 64 bytes.
    #[error("{field}: invalid hostname {value:?}")]
    InvalidHostname {
        /// The offending field.
        field: String,
        /// The value given.
        value: String,
    },
    /// A hostname is given but the container does not get its own UTS namespace.
    #[error("{field}: needs a new uts namespace")]
    HostnameWithoutUtsNamespace {
        /// The offending field.
        field: String,
    },
    /// A cpuset list is not of the form `0-3,6`.
    #[error("{field}: {value:?} is not a list like \"0-3,6\"")]
    InvalidCpuList {
        /// The offending field.
        field: String,
        /// The value given.
        value: String,
    },
    /// A cgroup path is neither absolute nor systemd's `slice:prefix:name`.
    #[error("{field}: {value:?} is neither an absolute path nor \"slice:prefix:name\"")]
    InvalidCgroupPath {
        /// The offending field.
        field: String,
        /// The value given.
        value: String,
    },
    /// Two mounts target the same container path.
    #[error("{field}: {destination} is already mounted by {first}")]
    DuplicateMount {
        /// The offending field.
        field: String,
        /// The shared destination.
        destination: String,
        /// The field of the earlier mount.
        first: String,
    },
    /// A soft limit exceeds its hard limit.
    #[error("{field}: soft limit {soft} exceeds hard limit {hard}")]
    SoftAboveHard {
        /// The offending field.
        field: String,
        /// The soft limit given.
        soft: u64,
        /// The hard limit given.
        hard: u64,
    },
}
