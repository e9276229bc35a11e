//! The input of the spec builder: Skiff's own description of one container.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything the spec builder needs to know about one container.
///
/// `args` are already resolved from the image's entrypoint and cmd; every path on the host
/// side (bind sources, pinned namespaces, pod files) is prepared by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpecConfig {
    /// The command and its arguments; must not be empty.
    pub args: Vec<String>,
    /// Environment variables in order; a later duplicate name replaces the earlier value.
    pub env: Vec<(String, String)>,
    /// Working directory inside the container; `/` when unset.
    pub working_dir: Option<PathBuf>,
    /// The user the process runs as.
    pub user: ProcessUser,
    /// Whether the process gets a terminal.
    pub tty: bool,
    /// Hostname to set; only allowed with a new UTS namespace.
    pub hostname: Option<String>,
    /// Volumes and other mounts asked for by the container.
    pub mounts: Vec<MountConfig>,
    /// The pod's `/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname` and `/dev/shm`.
    pub sandbox_files: SandboxFiles,
    /// Which namespaces are new, joined or the host's.
    pub namespaces: Namespaces,
    /// cgroup path: absolute for cgroupfs, `slice:prefix:name` for systemd.
    pub cgroup_path: Option<String>,
    /// cgroup limits and the OOM score adjustment.
    pub resources: Resources,
    /// Capabilities, privileged mode, seccomp and related settings.
    pub security: SecurityConfig,
    /// Resource limits for the process; none by default, as in containerd's CRI plugin.
    pub rlimits: Vec<Rlimit>,
    /// Annotations passed through to the runtime (e.g. `io.kubernetes.cri.container-type`).
    pub annotations: BTreeMap<String, String>,
}

/// The identity the container process runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary group ids; sorted and de-duplicated in the spec.
    pub additional_gids: Vec<u32>,
}

/// One mount asked for by the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountConfig {
    /// Absolute path inside the container.
    pub destination: PathBuf,
    /// What is mounted there.
    pub kind: MountKind,
    /// Mount read-only.
    pub read_only: bool,
}

/// What a [`MountConfig`] mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A recursive bind mount of a host path.
    Bind {
        /// Absolute host path.
        source: PathBuf,
        /// Mount propagation between host and container.
        propagation: MountPropagation,
    },
    /// A fresh tmpfs.
    Tmpfs {
        /// Size limit in bytes; the kernel default (half of RAM) when unset.
        size_bytes: Option<u64>,
        /// Permission bits of the tmpfs root, e.g. `0o1777`.
        mode: Option<u32>,
    },
}

/// Mount propagation of a bind mount, as in the CRI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MountPropagation {
    /// No propagation either way (`rprivate`).
    #[default]
    Private,
    /// Host mounts appear in the container (`rslave`).
    HostToContainer,
    /// Mounts propagate both ways (`rshared`).
    Bidirectional,
}

/// Pod-level files bind-mounted into every container; `None` leaves the image's file (or,
/// for `shm`, a private tmpfs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxFiles {
    /// Host path of the pod's hosts file, mounted at `/etc/hosts`.
    pub hosts: Option<PathBuf>,
    /// Host path of the pod's resolv.conf, mounted at `/etc/resolv.conf`.
    pub resolv_conf: Option<PathBuf>,
    /// Host path of the pod's hostname file, mounted at `/etc/hostname`.
    pub hostname: Option<PathBuf>,
    /// Host path of the pod's shared memory tmpfs, mounted at `/dev/shm`.
    pub shm: Option<PathBuf>,
}

/// How the container gets one kind of namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NamespaceMode {
    /// A namespace of its own.
    #[default]
    New,
    /// Join the namespace pinned at this path (e.g. a bind-mounted nsfs file).
    Join(PathBuf),
    /// Stay in the host's namespace.
    Host,
}

/// The container's namespaces; the mount namespace is always new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// Network namespace (usually the pod's pinned one).
    pub network: NamespaceMode,
    /// IPC namespace (usually the pod's pinned one).
    pub ipc: NamespaceMode,
    /// UTS namespace (usually the pod's pinned one).
    pub uts: NamespaceMode,
    /// PID namespace.
    pub pid: NamespaceMode,
    /// cgroup namespace (containerd's CRI plugin makes one on cgroup v2 hosts).
    pub cgroup: NamespaceMode,
}

/// cgroup limits and the OOM score adjustment; unset fields leave the kernel default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// Relative CPU weight (cgroup v1 shares, 2..=262144).
    pub cpu_shares: Option<u64>,
    /// CPU time in microseconds allowed per period.
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds (1000..=1000000).
    pub cpu_period: Option<u64>,
    /// CPUs the container may run on, e.g. `0-3,6`.
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use, e.g. `0`.
    pub cpuset_mems: Option<String>,
    /// Memory limit in bytes.
    pub memory_limit_bytes: Option<i64>,
    /// Memory plus swap limit in bytes (`-1` for unlimited).
    pub memory_swap_bytes: Option<i64>,
    /// Maximum number of tasks (`-1` for unlimited).
    pub pids_limit: Option<i64>,
    /// OOM score adjustment of the process (-1000..=1000).
    pub oom_score_adj: Option<i32>,
}

/// Security settings, shaped like the CRI's Linux container security context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityConfig {
    /// All capabilities, no masked or read-only paths, no seccomp, writable sysfs and cgroupfs.
    pub privileged: bool,
    /// Capabilities added to and dropped from the default set (ignored when privileged).
    pub capabilities: CapabilityChanges,
    /// Set the no_new_privs bit on the process.
    pub no_new_privileges: bool,
    /// Mount the root filesystem read-only (and the pod's etc files with it).
    pub read_only_root: bool,
    /// Seccomp profile (ignored when privileged).
    pub seccomp: SeccompProfile,
    /// The architecture the RuntimeDefault profile is generated for.
    pub seccomp_arch: SeccompArch,
    /// Whether `/proc` and `/sys` paths are masked.
    pub proc_mount: ProcMount,
}

/// Capability names added to and dropped from the default set: `NET_ADMIN` or
/// `CAP_NET_ADMIN`, any case, or `ALL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilityChanges {
    /// Capabilities to add; applied before `drop`.
    pub add: Vec<String>,
    /// Capabilities to remove.
    pub drop: Vec<String>,
}

/// Which seccomp filter the process gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeccompProfile {
    /// containerd's default profile: deny with EPERM unless allow-listed.
    #[default]
    RuntimeDefault,
    /// No filter.
    Unconfined,
}

/// CPU architecture a seccomp profile is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompArch {
    /// x86-64, also allowing x86 and x32 syscalls.
    X86_64,
    /// AArch64, also allowing 32-bit ARM syscalls.
    Aarch64,
    /// 64-bit RISC-V.
    Riscv64,
    /// IBM Z, also allowing 31-bit s390 syscalls.
    S390x,
    /// Little-endian 64-bit PowerPC.
    Ppc64le,
    /// Another architecture: no architecture list, no architecture-specific syscalls.
    Unlisted,
}

impl SeccompArch {
    /// The architecture this program was built for.
    pub fn host() -> Self {
        if cfg!(target_arch = "x86_64") {
            Self::X86_64
        } else if cfg!(target_arch = "aarch64") {
            Self::Aarch64
        } else if cfg!(target_arch = "riscv64") {
            Self::Riscv64
        } else if cfg!(target_arch = "s390x") {
            Self::S390x
        } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
            Self::Ppc64le
        } else {
            Self::Unlisted
        }
    }
}

impl Default for SeccompArch {
    fn default() -> Self {
        Self::host()
    }
}

/// Whether the usual `/proc` and `/sys` paths are masked and made read-only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProcMount {
    /// containerd's masked and read-only paths.
    #[default]
    Default,
    /// Nothing masked or read-only (the pod asked for `procMount: Unmasked`).
    Unmasked,
}

/// One resource limit of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// Which limit.
    pub resource: RlimitResource,
    /// Soft limit; at most `hard`.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// The resource an [`Rlimit`] limits (`RLIMIT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RlimitResource {
    /// `RLIMIT_AS`.
    As,
    /// `RLIMIT_CORE`.
    Core,
    /// `RLIMIT_CPU`.
    Cpu,
    /// `RLIMIT_DATA`.
    Data,
    /// `RLIMIT_FSIZE`.
    Fsize,
    /// `RLIMIT_LOCKS`.
    Locks,
    /// `RLIMIT_MEMLOCK`.
    Memlock,
    /// `RLIMIT_MSGQUEUE`.
    Msgqueue,
    /// `RLIMIT_NICE`.
    Nice,
    /// `RLIMIT_NOFILE`.
    Nofile,
    /// `RLIMIT_NPROC`.
    Nproc,
    /// `RLIMIT_RSS`.
    Rss,
    /// `RLIMIT_RTPRIO`.
    Rtprio,
    /// `RLIMIT_RTTIME`.
    Rttime,
    /// `RLIMIT_SIGPENDING`.
    Sigpending,
    /// `RLIMIT_STACK`.
    Stack,
}
