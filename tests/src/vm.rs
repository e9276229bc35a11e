//! The VM tier: boots Debian's kernel under qemu (TCG) with a busybox initramfs holding the
//! programs a test needs, loads the kernel modules it asks for, runs one command and reports
//! its exit status and console. For kernel features this host lacks (bridge VLAN filtering,
//! IPVS). The kernel is unpacked by `scripts/install-deps.sh --vm-kernel`; a run does no network I/O, and
//! the guest has no network device.

mod cpio;
mod initramfs;
mod kernel;
mod qemu;

pub use kernel::{Kernel, ModuleLoad};

use initramfs::{InitPlan, Layout, Node};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Set (to `1`) in the environment of every command the guest runs.
pub const GUEST_ENV: &str = "SKIFF_VM_GUEST";

/// Exit status the guest reports when a requested module did not load.
pub const MODULE_MISSING_STATUS: i32 = initramfs::MODULE_MISSING_STATUS;

static RUNS: AtomicU32 = AtomicU32::new(0);

/// A guest to boot: modules to load, programs and files to carry, environment, size.
#[derive(Debug, Clone)]
pub struct Vm {
    modules: Vec<String>,
    programs: Vec<PathBuf>,
    files: Vec<(PathBuf, PathBuf)>,
    env: Vec<(String, String)>,
    memory_mib: u32,
    timeout: Duration,
}

/// What one boot produced.
#[derive(Debug, Clone)]
pub struct VmRun {
    /// The command's exit status inside the guest.
    pub status: i32,
    /// Everything the guest printed on its console (and qemu on stderr).
    pub console: String,
}

/// Why a VM run could not produce an exit status.
#[derive(Debug)]
pub enum VmError {
    /// No unpacked kernel at `root`.
    KernelMissing {
        /// Where it was looked for.
        root: PathBuf,
    },
    /// A host program could not be started.
    Spawn {
        /// The program.
        program: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A host program failed.
    ToolFailed {
        /// The command line.
        command: String,
        /// Its stderr.
        output: String,
    },
    /// A program to carry was not found on `PATH`.
    ProgramNotFound {
        /// The name asked for.
        name: PathBuf,
    },
    /// A shared library a carried program needs is missing on the host.
    LibraryNotFound {
        /// The program.
        program: PathBuf,
        /// The library `ldd` could not find.
        library: String,
    },
    /// Reading or writing a host file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The guest did not report an exit status in time; qemu was killed.
    Timeout {
        /// The limit.
        after: Duration,
        /// What the console showed until then.
        console: String,
    },
    /// qemu exited without the guest reporting an exit status (e.g. a kernel panic).
    NoStatus {
        /// What the console showed.
        console: String,
    },
}

impl VmError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KernelMissing { root } => write!(
                f,
                "no unpacked Debian kernel at {} (run scripts/install-deps.sh --vm-kernel as root)",
                root.display()
            ),
            Self::Spawn { program, source } => write!(f, "cannot run {program}: {source}"),
            Self::ToolFailed { command, output } => {
                write!(f, "`{command}` failed: {}", output.trim())
            }
            Self::ProgramNotFound { name } => {
                write!(f, "program {} not found on PATH", name.display())
            }
            Self::LibraryNotFound { program, library } => write!(
                f,
                "{} needs {library}, which is not installed",
                program.display()
            ),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Timeout { after, console } => write!(
                f,
                "the guest reported no exit status within {after:?}; console:\n{console}"
            ),
            Self::NoStatus { console } => write!(
                f,
                "qemu exited before the guest reported an exit status; console:\n{console}"
            ),
        }
    }
}

impl std::error::Error for VmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Spawn { source, .. } | Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Default for Vm {
    fn default() -> Self {
        Self::new()
    }
}

impl Vm {
    /// A guest with busybox only, 1 GiB of memory and a 300 s limit.
    pub fn new() -> Self {
        Self {
            modules: Vec::new(),
            programs: Vec::new(),
            files: Vec::new(),
            env: Vec::new(),
            memory_mib: 1024,
            timeout: Duration::from_secs(300),
        }
    }

    /// Loads these modules (by name, dependencies first) before the command runs; the run
    /// reports [`MODULE_MISSING_STATUS`] if one is then absent.
    pub fn modules(mut self, names: &[&str]) -> Self {
        self.modules.extend(names.iter().map(|n| n.to_string()));
        self
    }

    /// Carries programs (a name on `PATH` or a path) with their shared libraries, each at the
    /// path it has on the host.
    pub fn programs<P: AsRef<Path>>(mut self, programs: &[P]) -> Self {
        self.programs
            .extend(programs.iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Carries a host file to `guest` (an absolute path).
    pub fn file(mut self, host: impl Into<PathBuf>, guest: impl Into<PathBuf>) -> Self {
        self.files.push((host.into(), guest.into()));
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Guest memory in MiB.
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = mib;
        self
    }

    /// How long boot plus command may take before qemu is killed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Boots the guest, runs `command` in it (as root, cwd `/tmp`) and returns its status.
    pub fn run(&self, command: &[&str]) -> Result<VmRun, VmError> {
        let kernel = Kernel::locate()?;
        let loads = kernel.load_order(&self.modules)?;
        let scratch = tempfile::tempdir().map_err(|e| VmError::io(Path::new("/tmp"), e))?;
        let marker = format!(
            "SKIFF-VM-EXIT-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );

        let mut layout = Layout::skeleton();
        carry(&mut layout, Path::new(initramfs::BUSYBOX))?;
        carry(&mut layout, Path::new(initramfs::SHELL))?;
        for program in &self.programs {
            carry(&mut layout, &resolve(program)?)?;
        }
        for (host, guest) in &self.files {
            layout.put(
                guest,
                Node::Copy {
                    host: host.clone(),
                    strip: false,
                },
            );
        }
        for load in &loads {
            layout.put(
                Path::new("/").join(&load.path),
                Node::Copy {
                    host: kernel.root().join(&load.path),
                    strip: false,
                },
            );
        }
        let command: Vec<String> = command.iter().map(|a| a.to_string()).collect();
        let mut env = vec![(GUEST_ENV.to_string(), "1".to_string())];
        env.extend(self.env.iter().cloned());
        let script = initramfs::init_script(&InitPlan {
            loads: &loads,
            required: &self.modules,
            env: &env,
            command: &command,
            marker: &marker,
        });
        layout.put("/init", Node::Text(script, 0o755));
        let initrd = scratch.path().join("initrd.cpio");
        layout.write(&initrd, scratch.path())?;

        let machine = qemu::Machine {
            memory_mib: self.memory_mib,
            timeout: self.timeout,
        };
        let console = qemu::boot(
            qemu::command(&kernel.vmlinuz(), &initrd, machine),
            machine,
            &marker,
        )?;
        match console.status {
            Some(status) => Ok(VmRun {
                status,
                console: console.text,
            }),
            None => Err(VmError::NoStatus {
                console: console.text,
            }),
        }
    }
}

/// Puts a program (debug info stripped: test executables are mostly DWARF) and its shared
/// libraries at their host paths.
fn carry(layout: &mut Layout, host: &Path) -> Result<(), VmError> {
    for lib in initramfs::shared_libraries(host)? {
        layout.put(
            &lib,
            Node::Copy {
                host: lib.clone(),
                strip: false,
            },
        );
    }
    layout.put(
        host,
        Node::Copy {
            host: host.into(),
            strip: true,
        },
    );
    Ok(())
}

/// Panics, naming what is missing, unless this host can boot the VM tier's guest.
#[track_caller]
pub fn require() {
    crate::guard::require(&[
        crate::guard::Need::Tool("qemu-system-x86_64", "qemu-system-x86"),
        crate::guard::Need::Tool("modprobe", "kmod"),
        crate::guard::Need::Tool("strip", "binutils"),
        crate::guard::Need::Tool("ldd", "libc-bin"),
        crate::guard::Need::File(initramfs::BUSYBOX, "busybox-static"),
        crate::guard::Need::File(initramfs::SHELL, "bash"),
    ]);
    if let Err(e) = Kernel::locate() {
        panic!("this VM test cannot run; missing: {e}");
    }
}

/// Whether this process runs inside the guest.
pub fn in_guest() -> bool {
    std::env::var_os(GUEST_ENV).is_some_and(|v| v == "1")
}

/// Runs a test's `body` in the guest. On the host: boots `vm` carrying this test executable,
/// runs only the test named `test` there, and panics (printing the console) unless exactly
/// that test passed. Inside the guest: runs `body`.
#[track_caller]
pub fn run_test(test: &str, vm: Vm, body: impl FnOnce()) {
    if in_guest() {
        body();
        return;
    }
    require();
    let exe = std::env::current_exe().expect("path of this test executable");
    let exe_arg = exe.to_string_lossy().into_owned();
    let run = vm
        .programs(&[&exe])
        .env("RUST_BACKTRACE", "1")
        .run(&[
            &exe_arg,
            "--exact",
            test,
            "--include-ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .unwrap_or_else(|e| panic!("VM run of {test} failed: {e}"));
    assert!(
        run.status == 0 && run.console.contains("test result: ok. 1 passed"),
        "{test} did not pass inside the VM (exit status {}); console:\n{}",
        run.status,
        run.console
    );
}

/// Runs `cmd` and returns its stdout, or why it failed.
fn output_of(mut cmd: Command, program: &'static str) -> Result<String, VmError> {
    let out = cmd
        .output()
        .map_err(|source| VmError::Spawn { program, source })?;
    if !out.status.success() {
        return Err(VmError::ToolFailed {
            command: format!("{cmd:?}"),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A program name on `PATH` (then `/usr/sbin`, `/sbin`), or a path as given.
fn resolve(program: &Path) -> Result<PathBuf, VmError> {
    if program.components().count() > 1 {
        return if program.is_file() {
            Ok(program.into())
        } else {
            Err(VmError::ProgramNotFound {
                name: program.into(),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| VmError::ProgramNotFound {
            name: program.into(),
        })
}
