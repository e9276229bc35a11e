//! The guest's root file system: what goes where (a pure layout), the `/init` script, and
//! writing it all as a cpio archive.

use super::cpio::CpioWriter;
use super::kernel::ModuleLoad;
use super::VmError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Where busybox lives in the guest.
pub const BUSYBOX: &str = "/bin/busybox";

/// The guest's shell, also `/bin/sh` and the interpreter of `/init`. Not busybox `sh`: that one
/// runs its own applets before `PATH` (so `ip` would not be the carried iproute2).
pub const SHELL: &str = "/bin/bash";

/// Where `/init` links busybox's applets: last on `PATH`, so carried programs win.
const APPLETS: &str = "/busybox/bin";

/// What one path in the guest is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A copy of a host file; `strip` drops its debug sections first.
    Copy {
        /// The host file (symlinks followed).
        host: PathBuf,
        /// Whether to strip debug info (test executables are mostly DWARF).
        strip: bool,
    },
    /// A file with the given content and permissions.
    Text(String, u32),
    /// A symbolic link.
    Symlink(String),
    /// A character device (major, minor).
    CharDev(u32, u32),
}

/// Guest paths (absolute) to what they hold; parents are implied.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    nodes: BTreeMap<PathBuf, Node>,
}

impl Layout {
    /// The skeleton every guest has: mount points, `/dev/console`, `/var/run -> /run`.
    pub fn skeleton() -> Self {
        let mut layout = Self::default();
        for dir in [
            "/proc", "/sys", "/dev", "/run", "/tmp", "/etc", "/bin", "/sbin",
        ] {
            layout.put(dir, Node::Dir);
        }
        for dir in ["/usr/bin", "/usr/sbin"] {
            layout.put(dir, Node::Dir);
        }
        // The kernel opens /dev/console for /init before anything is mounted.
        layout.put("/dev/console", Node::CharDev(5, 1));
        layout.put("/var/run", Node::Symlink("/run".into()));
        layout.put("/bin/sh", Node::Symlink("bash".into()));
        layout.put(APPLETS, Node::Dir);
        layout
    }

    /// Puts `node` at `guest`, replacing what was there.
    pub fn put(&mut self, guest: impl Into<PathBuf>, node: Node) {
        self.nodes.insert(guest.into(), node);
    }

    /// Every member in archive order: each directory before what it contains.
    pub fn members(&self) -> Vec<(PathBuf, Node)> {
        let mut all: BTreeMap<PathBuf, Node> = BTreeMap::new();
        for (path, node) in &self.nodes {
            for parent in path.ancestors().skip(1) {
                if parent != Path::new("/") && !parent.as_os_str().is_empty() {
                    all.entry(parent.to_path_buf()).or_insert(Node::Dir);
                }
            }
            all.insert(path.clone(), node.clone());
        }
        // Paths compare by component, so a directory sorts right before its contents.
        all.into_iter().collect()
    }

    /// Writes the archive, stripping copies into `scratch` where asked.
    pub fn write(&self, archive: &Path, scratch: &Path) -> Result<(), VmError> {
        let file = std::fs::File::create(archive).map_err(|e| VmError::io(archive, e))?;
        let mut cpio = CpioWriter::new(std::io::BufWriter::new(file));
        let io = |e| VmError::io(archive, e);
        for (index, (path, node)) in self.members().into_iter().enumerate() {
            let name = archive_name(&path);
            match node {
                Node::Dir => cpio.dir(&name, 0o755).map_err(io)?,
                Node::Symlink(target) => cpio.symlink(&name, &target).map_err(io)?,
                Node::CharDev(major, minor) => {
                    cpio.char_dev(&name, 0o600, major, minor).map_err(io)?
                }
                Node::Text(text, perm) => cpio.file(&name, perm, text.as_bytes()).map_err(io)?,
                Node::Copy { host, strip } => {
                    let perm = std::fs::metadata(&host)
                        .map_err(|e| VmError::io(&host, e))?
                        .permissions()
                        .mode()
                        & 0o7777;
                    let source = if strip {
                        stripped(&host, &scratch.join(format!("stripped-{index}")))?
                    } else {
                        host.clone()
                    };
                    let data = std::fs::read(&source).map_err(|e| VmError::io(&source, e))?;
                    cpio.file(&name, perm, &data).map_err(io)?
                }
            }
        }
        cpio.finish().map_err(io)?;
        Ok(())
    }
}

fn archive_name(path: &Path) -> String {
    path.components()
        .filter(|c| !matches!(c, Component::RootDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn stripped(host: &Path, out: &Path) -> Result<PathBuf, VmError> {
    let mut cmd = Command::new("strip");
    cmd.arg("--strip-debug").arg("-o").arg(out).arg(host);
    super::output_of(cmd, "strip")?;
    Ok(out.into())
}

/// The shared libraries `program` loads (the dynamic loader included), from `ldd`.
pub fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, VmError> {
    let out = Command::new("ldd")
        .arg(program)
        .output()
        .map_err(|source| VmError::Spawn {
            program: "ldd",
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // Static executables have nothing to load.
        if stdout.contains("not a dynamic executable")
            || String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        return Err(VmError::ToolFailed {
            command: format!("ldd {}", program.display()),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    parse_ldd(&stdout).map_err(|library| VmError::LibraryNotFound {
        program: program.into(),
        library,
    })
}

/// Parses `ldd` output into library paths; `Err` names a library that was not found.
pub fn parse_ldd(text: &str) -> Result<Vec<PathBuf>, String> {
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let target = match line.split_once("=>") {
            Some((name, rest)) if rest.trim().starts_with("not found") => {
                return Err(name.trim().to_string())
            }
            Some((_, rest)) => rest.trim(),
            None => line,
        };
        if let Some(path) = target
            .split_whitespace()
            .next()
            .filter(|p| p.starts_with('/'))
        {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

/// What `/init` does besides mounting: load modules, export variables, run one command.
#[derive(Debug, Clone)]
pub struct InitPlan<'a> {
    /// Modules in load order, at their guest paths.
    pub loads: &'a [ModuleLoad],
    /// Module names that must be present in `/sys/module` before the command runs.
    pub required: &'a [String],
    /// Environment for the command.
    pub env: &'a [(String, String)],
    /// The command and its arguments.
    pub command: &'a [String],
    /// The line prefix reporting the exit status, followed by `=<status>`.
    pub marker: &'a str,
}

/// Exit status reported when a requested module did not load.
pub const MODULE_MISSING_STATUS: i32 = 125;

/// The `/init` script (for [`SHELL`]; busybox provides the tools it calls).
pub fn init_script(plan: &InitPlan<'_>) -> String {
    let mut s = String::new();
    s.push_str(&format!("#!{SHELL}\n"));
    s.push_str(&format!("{BUSYBOX} --install -s {APPLETS}\n"));
    s.push_str(&format!(
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:{APPLETS}\n"
    ));
    s.push_str(
        "mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev\n\
         mount -t tmpfs tmpfs /run\n\
         ifconfig lo 127.0.0.1 up\n",
    );
    for load in plan.loads {
        let path = format!("/{}", load.path.display());
        let _ = writeln!(
            s,
            "insmod {} {} || echo \"skiff-vm: insmod {} failed\"",
            quote(&path),
            load.params,
            path
        );
    }
    s.push_str("status=0\n");
    for module in plan.required {
        let name = module.replace('-', "_");
        let _ = writeln!(
            s,
            "[ -d /sys/module/{name} ] || {{ echo \"skiff-vm: module {name} is not loaded\"; status={MODULE_MISSING_STATUS}; }}",
            name = quote(&name)
        );
    }
    for (key, value) in plan.env {
        let _ = writeln!(s, "export {key}={}", quote(value));
    }
    let command: Vec<String> = plan.command.iter().map(|a| quote(a)).collect();
    let _ = writeln!(
        s,
        "if [ $status = 0 ]; then cd /tmp; {} </dev/null; status=$?; fi",
        command.join(" ")
    );
    s.push_str(
        "[ $status = 0 ] || { echo \"--- guest dmesg, last 40 lines ---\"; dmesg | tail -n 40; }\n",
    );
    // On a line of its own even when the command's output did not end with one.
    let _ = writeln!(s, "echo; echo \"{}=$status\"", plan.marker);
    s.push_str("poweroff -f\n");
    s
}

/// Single-quotes `arg` for `sh`.
pub fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_lists_libraries_and_loader_but_not_the_vdso() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text).unwrap(),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn ldd_missing_library_is_named() {
        let text = "\tlibfoo.so.1 => not found\n";
        assert_eq!(parse_ldd(text).unwrap_err(), "libfoo.so.1");
    }

    #[test]
    fn members_put_every_parent_directory_before_its_children() {
        let mut layout = Layout::skeleton();
        layout.put(
            "/lib/modules/6.1/kernel/net/llc/llc.ko",
            Node::Copy {
                host: "/x".into(),
                strip: false,
            },
        );
        let members = layout.members();
        let pos = |p: &str| members.iter().position(|(m, _)| m == Path::new(p)).unwrap();
        assert!(pos("/lib") < pos("/lib/modules"));
        assert!(pos("/lib/modules/6.1/kernel/net") < pos("/lib/modules/6.1/kernel/net/llc/llc.ko"));
        assert!(pos("/dev") < pos("/dev/console"));
        assert!(pos("/var") < pos("/var/run"));
        assert_eq!(members[pos("/lib")].1, Node::Dir);
    }

    #[test]
    fn init_loads_modules_in_order_checks_them_runs_the_command_and_reports_status() {
        let loads = [
            ModuleLoad {
                path: "lib/modules/6.1/llc.ko".into(),
                params: String::new(),
            },
            ModuleLoad {
                path: "lib/modules/6.1/bridge.ko".into(),
                params: String::new(),
            },
        ];
        let script = init_script(&InitPlan {
            loads: &loads,
            required: &["bridge".into()],
            env: &[("SKIFF_VM_GUEST".into(), "1".into())],
            command: &["/bin/sh".into(), "-c".into(), "echo 'hi'".into()],
            marker: "MARK",
        });
        let llc = script.find("insmod '/lib/modules/6.1/llc.ko'").unwrap();
        let bridge = script.find("insmod '/lib/modules/6.1/bridge.ko'").unwrap();
        assert!(llc < bridge, "{script}");
        assert!(script.contains("[ -d /sys/module/'bridge' ]"), "{script}");
        assert!(script.contains("export SKIFF_VM_GUEST='1'"), "{script}");
        assert!(
            script.contains(r"'/bin/sh' '-c' 'echo '\''hi'\'''"),
            "{script}"
        );
        let run = script.find("'/bin/sh'").unwrap();
        let report = script.find("echo; echo \"MARK=$status\"").unwrap();
        assert!(bridge < run && run < report, "{script}");
        assert!(script.ends_with("poweroff -f\n"));
    }
}
