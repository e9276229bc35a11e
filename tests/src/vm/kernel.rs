//! The unpacked Debian kernel the VM boots, and the order its modules load in.

use super::VmError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `scripts/install-deps.sh --vm-kernel` unpacks the kernel; `current` points at the release in use.
pub const DEFAULT_CACHE: &str = "/var/cache/skiff-vm";

/// Overrides [`DEFAULT_CACHE`] (a directory holding `current/boot` and `current/lib/modules`).
pub const CACHE_ENV: &str = "SKIFF_VM_CACHE";

/// An unpacked kernel package: `boot/vmlinuz-<release>` and `lib/modules/<release>/`.
#[derive(Debug, Clone)]
pub struct Kernel {
    root: PathBuf,
    release: String,
}

/// One `insmod` the guest runs: the module's path inside the package tree and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLoad {
    /// Path relative to the package root, e.g. `lib/modules/6.1.0-56-amd64/kernel/net/llc/llc.ko`.
    pub path: PathBuf,
    /// Parameters as modprobe would pass them (may be empty).
    pub params: String,
}

impl Kernel {
    /// The kernel under `$SKIFF_VM_CACHE/current` or `/var/cache/skiff-vm/current`.
    pub fn locate() -> Result<Self, VmError> {
        let cache = std::env::var_os(CACHE_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| DEFAULT_CACHE.into());
        Self::at(&cache.join("current"))
    }

    /// The kernel unpacked at `root`.
    pub fn at(root: &Path) -> Result<Self, VmError> {
        let missing = || VmError::KernelMissing { root: root.into() };
        let release = std::fs::read_dir(root.join("lib/modules"))
            .map_err(|_| missing())?
            .filter_map(Result::ok)
            .find(|e| e.path().join("modules.dep").is_file())
            .ok_or_else(missing)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        let kernel = Self {
            root: root.into(),
            release,
        };
        if !kernel.vmlinuz().is_file() {
            return Err(missing());
        }
        Ok(kernel)
    }

    /// The release string, e.g. `6.1.0-56-amd64`.
    pub fn release(&self) -> &str {
        &self.release
    }

    /// The package root the kernel was unpacked into.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The compressed kernel image qemu boots.
    pub fn vmlinuz(&self) -> PathBuf {
        self.root.join(format!("boot/vmlinuz-{}", self.release))
    }

    /// Every module to load, dependencies (and soft dependencies) first, each once.
    pub fn load_order(&self, modules: &[String]) -> Result<Vec<ModuleLoad>, VmError> {
        let mut order: Vec<ModuleLoad> = Vec::new();
        for module in modules {
            // `-C /dev/null`: this host's modprobe.d must not change what the guest loads.
            let mut cmd = Command::new("modprobe");
            cmd.args(["-C", "/dev/null", "-d"]).arg(&self.root).args([
                "-S",
                &self.release,
                "--show-depends",
                module,
            ]);
            let text = super::output_of(cmd, "modprobe")?;
            for load in parse_show_depends(&text, &self.root) {
                if !order.iter().any(|l| l.path == load.path) {
                    order.push(load);
                }
            }
        }
        Ok(order)
    }
}

/// Parses `modprobe --show-depends` output into loads relative to `root`; built-ins need none.
pub fn parse_show_depends(text: &str, root: &Path) -> Vec<ModuleLoad> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("insmod ")?;
            let (path, params) = rest.split_once(' ').unwrap_or((rest, ""));
            let path = Path::new(path);
            Some(ModuleLoad {
                path: path.strip_prefix(root).unwrap_or(path).to_path_buf(),
                params: params.trim().to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_depends_gives_relative_paths_params_and_skips_builtins() {
        let text = "builtin unix\n\
            insmod /c/lib/modules/6.1/kernel/net/llc/llc.ko \n\
            insmod /c/lib/modules/6.1/kernel/drivers/net/dummy.ko numdummies=0 \n";
        let loads = parse_show_depends(text, Path::new("/c"));
        assert_eq!(
            loads,
            vec![
                ModuleLoad {
                    path: "lib/modules/6.1/kernel/net/llc/llc.ko".into(),
                    params: String::new()
                },
                ModuleLoad {
                    path: "lib/modules/6.1/kernel/drivers/net/dummy.ko".into(),
                    params: "numdummies=0".into()
                },
            ]
        );
    }

    #[test]
    fn a_cache_without_a_kernel_names_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let err = Kernel::at(dir.path()).unwrap_err();
        assert!(err.to_string().contains("scripts/install-deps.sh"), "{err}");
    }
}
