//! An in-memory [`NamespaceOps`] that records calls and fails the n-th call of a chosen op.

use super::error::{Op, StepError};
use super::ops::{NamespaceOps, PinFailure};
use super::NsKind;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};

/// What the fake kernel holds.
#[derive(Debug, Default)]
pub struct FakeState {
    pub dirs: BTreeSet<PathBuf>,
    pub files: BTreeSet<PathBuf>,
    /// nsfs mounts, stacked in mount order.
    pub mounts: Vec<PathBuf>,
    pub shared: BTreeSet<PathBuf>,
    pub hostnames: Vec<String>,
    pub calls: Vec<(Op, PathBuf)>,
}

/// The fake kernel.
#[derive(Debug, Default)]
pub struct FakeNamespaceOps {
    pub state: RefCell<FakeState>,
    fail: Vec<(Op, usize)>,
    counts: RefCell<HashMap<Op, usize>>,
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

impl FakeNamespaceOps {
    /// A fake whose `n`-th (0-based) call of each listed op fails with EIO.
    pub fn failing(fail: &[(Op, usize)]) -> Self {
        Self {
            fail: fail.to_vec(),
            ..Self::default()
        }
    }

    fn check(&self, op: Op, path: &Path) -> io::Result<()> {
        self.state.borrow_mut().calls.push((op, path.to_path_buf()));
        let mut counts = self.counts.borrow_mut();
        let n = counts.entry(op).or_default();
        let this = *n;
        *n += 1;
        if self.fail.contains(&(op, this)) {
            return Err(errno(libc::EIO));
        }
        Ok(())
    }

    /// Everything under `dir` (dirs, files, mounts), for "nothing left behind" checks.
    pub fn left_under(&self, dir: &Path) -> Vec<PathBuf> {
        let s = self.state.borrow();
        s.dirs
            .iter()
            .chain(&s.files)
            .chain(&s.mounts)
            .filter(|p| p.starts_with(dir) && p.as_path() != dir)
            .cloned()
            .collect()
    }
}

impl NamespaceOps for FakeNamespaceOps {
    fn prepare_run_dir(&self, dir: &Path) -> io::Result<PathBuf> {
        self.check(Op::PrepareRunDir, dir)?;
        let mut s = self.state.borrow_mut();
        s.dirs.insert(dir.to_path_buf());
        s.shared.insert(dir.to_path_buf());
        Ok(dir.to_path_buf())
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let s = self.state.borrow();
        if s.dirs.contains(path) || s.files.contains(path) {
            Ok(path.to_path_buf())
        } else {
            Err(errno(libc::ENOENT))
        }
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        self.check(Op::CreateDir, dir)?;
        let mut s = self.state.borrow_mut();
        if !dir.parent().is_some_and(|p| s.dirs.contains(p)) {
            return Err(errno(libc::ENOENT));
        }
        if !s.dirs.insert(dir.to_path_buf()) {
            return Err(errno(libc::EEXIST));
        }
        Ok(())
    }

    fn create_file(&self, path: &Path) -> io::Result<()> {
        self.check(Op::CreateFile, path)?;
        let mut s = self.state.borrow_mut();
        if !path.parent().is_some_and(|p| s.dirs.contains(p)) {
            return Err(errno(libc::ENOENT));
        }
        if !s.files.insert(path.to_path_buf()) {
            return Err(errno(libc::EEXIST));
        }
        Ok(())
    }

    fn pin_new_namespaces(
        &self,
        hostname: &str,
        pins: &[(NsKind, PathBuf)],
    ) -> Result<(), PinFailure> {
        let fail = |pinned: &[PathBuf], op, path: &Path, e| PinFailure {
            pinned: pinned.to_vec(),
            error: StepError::new(op, path, e),
        };
        let ns = Path::new("/proc/thread-self/ns");
        self.check(Op::Unshare, ns)
            .map_err(|e| fail(&[], Op::Unshare, ns, e))?;
        self.check(Op::SetHostname, ns)
            .map_err(|e| fail(&[], Op::SetHostname, ns, e))?;
        self.state.borrow_mut().hostnames.push(hostname.to_string());
        let mut pinned = Vec::new();
        for (_, target) in pins {
            self.check(Op::BindMount, target)
                .map_err(|e| fail(&pinned, Op::BindMount, target, e))?;
            let mut s = self.state.borrow_mut();
            if !s.files.contains(target) {
                return Err(fail(&pinned, Op::BindMount, target, errno(libc::ENOENT)));
            }
            s.mounts.push(target.clone());
            pinned.push(target.clone());
        }
        Ok(())
    }

    fn unmount(&self, path: &Path) -> io::Result<bool> {
        self.check(Op::Unmount, path)?;
        let mut s = self.state.borrow_mut();
        match s.mounts.iter().rposition(|m| m == path) {
            Some(i) => {
                s.mounts.remove(i);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check(Op::RemoveFile, path)?;
        let mut s = self.state.borrow_mut();
        if s.mounts.iter().any(|m| m == path) {
            return Err(errno(libc::EBUSY));
        }
        if !s.files.remove(path) {
            return Err(errno(libc::ENOENT));
        }
        Ok(())
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        self.check(Op::RemoveDir, dir)?;
        let mut s = self.state.borrow_mut();
        let child = |p: &PathBuf| p.parent() == Some(dir);
        if s.files.iter().any(child) || s.dirs.iter().any(child) {
            return Err(errno(libc::ENOTEMPTY));
        }
        if !s.dirs.remove(dir) {
            return Err(errno(libc::ENOENT));
        }
        Ok(())
    }

    fn list_subdirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.check(Op::ListRunDir, dir)?;
        let s = self.state.borrow();
        Ok(s.dirs
            .iter()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect())
    }

    fn mount_table(&self) -> io::Result<String> {
        self.check(Op::ReadMountTable, Path::new("/proc/self/mountinfo"))?;
        let s = self.state.borrow();
        Ok(s.mounts
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(
                    "{} 1 0:4 net:[{i}] {} rw - nsfs nsfs rw\n",
                    100 + i,
                    m.display()
                )
            })
            .collect())
    }
}
