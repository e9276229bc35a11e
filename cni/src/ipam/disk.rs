//! [`DiskStore`]: allocations in host-local's on-disk format, so Skiff and the reference
//! plugin can serve one node. In `<dataDir>/<network>/`:
//!
//! - one file per allocated address, named by the address, holding `<containerID>\r\n<ifname>`;
//! - `last_reserved_ip.<range set index>` holding the last address reserved in that set;
//! - `lock`, held with `flock(LOCK_EX)` around every read-modify-write (host-local takes it too);
//! - `.skiff/<sha256 of containerID \0 ifname>`: Skiff's index of each attachment's addresses,
//!   so DEL needs no scan. Host-local's DEL walks into `.skiff/` and reads these files, but their
//!   first line (which holds a space) never equals a container id or `<id>\r\n<ifname>`, so it
//!   never matches or removes them.
//!
//! An address file is written to `.skiff/pending` first and published with `link(2)`, which
//! fails when the name exists, like host-local's `O_CREAT|O_EXCL`: a writer killed at any
//! point leaves either no address file or a complete one. Writes are not fsynced (as
//! host-local): they survive the writer's death, not a power loss.

use super::store::{Holder, IpamStore, StoreError};
use crate::conf::Attachment;
use crate::invocation::{validate_container_id, validate_ifname};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const INDEX_HEADER: &str = "skiff-host-local attachment-index v1";
const LAST_RESERVED: &str = "last_reserved_ip.";
const META_DIR: &str = ".skiff";
const PENDING: &str = "pending";
const PENDING_INDEX: &str = "pending-index";

/// Allocations of one network in host-local's directory layout.
#[derive(Debug, Clone)]
pub struct DiskStore {
    dir: PathBuf,
    meta: PathBuf,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl DiskStore {
    /// Opens the store of `network` under `data_dir`, creating its directory.
    pub fn create(data_dir: &Path, network: &str) -> Result<Self, StoreError> {
        let dir = data_dir.join(network);
        let meta = dir.join(META_DIR);
        fs::create_dir_all(&meta).map_err(io("create directory", &meta))?;
        Ok(Self { dir, meta })
    }

    /// Opens the store of `network` if its directory exists (DEL, CHECK, GC and STATUS create
    /// nothing when there was never an allocation).
    pub fn open_existing(data_dir: &Path, network: &str) -> Result<Option<Self>, StoreError> {
        if !data_dir.join(network).is_dir() {
            return Ok(None);
        }
        Self::create(data_dir, network).map(Some)
    }

    /// The network's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn index_path(&self, who: &Attachment) -> PathBuf {
        let mut h = Sha256::new();
        h.update(who.container_id.as_bytes());
        h.update([0u8]);
        h.update(who.ifname.as_bytes());
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.meta.join(hex)
    }

    fn read_optional(path: &Path) -> Result<Option<String>, StoreError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", path)(e)),
        }
    }

    fn remove_optional(path: &Path) -> Result<(), StoreError> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io("remove", path)(e)),
            _ => Ok(()),
        }
    }

    fn write_new(path: &Path, content: &str) -> Result<(), StoreError> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io("create", path))?;
        f.write_all(content.as_bytes()).map_err(io("write", path))
    }
}

/// Reads an address file: `<id>\r\n<ifname>`, or `<id>` alone from old host-local versions.
fn parse_holder(content: &str) -> Holder {
    // A line break means the two-line form; a record cut after it is partial, not old-style.
    let two_lines = content.trim_start().contains(['\r', '\n']);
    let content = content.trim();
    match content.split_once("\r\n") {
        Some((id, ifname)) => {
            let id = id.trim();
            if validate_container_id(id).is_ok() && validate_ifname(ifname).is_ok() {
                Holder::Attachment(Attachment {
                    container_id: id.to_string(),
                    ifname: ifname.to_string(),
                })
            } else {
                Holder::Garbage
            }
        }
        None if !two_lines && validate_container_id(content).is_ok() => {
            Holder::ContainerId(content.to_string())
        }
        None => Holder::Garbage,
    }
}

/// Reads an index entry: the attachment it is for and the addresses it lists.
fn parse_index(content: &str) -> Option<(Attachment, Vec<IpAddr>)> {
    let mut lines = content.lines();
    if lines.next()? != INDEX_HEADER {
        return None;
    }
    let (id, ifname) = lines.next()?.split_once(' ')?;
    let who = Attachment {
        container_id: id.to_string(),
        ifname: ifname.to_string(),
    };
    Some((who, lines.filter_map(|l| l.parse().ok()).collect()))
}

fn is_index_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl IpamStore for DiskStore {
    type Lock = Flock<File>;

    fn lock(&mut self) -> Result<Flock<File>, StoreError> {
        let path = self.dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("open", &path))?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Ok(lock) => return Ok(lock),
                Err((f, Errno::EINTR)) => file = f,
                Err((_, errno)) => return Err(io("lock", &path)(errno.into())),
            }
        }
    }

    fn reserve(&mut self, ip: IpAddr, who: &Attachment) -> Result<bool, StoreError> {
        let target = self.dir.join(ip.to_string());
        // Under the lock nobody else writes, so a cheap existence check skips taken addresses.
        if fs::symlink_metadata(&target).is_ok() {
            return Ok(false);
        }
        let content = format!("{}\r\n{}", who.container_id.trim(), who.ifname);
        let pending = self.meta.join(PENDING);
        fs::write(&pending, &content).map_err(io("write", &pending))?;
        let linked = fs::hard_link(&pending, &target);
        Self::remove_optional(&pending)?;
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            // Filesystems without hard links: create exclusively, as host-local does.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EOPNOTSUPP)) => {
                match Self::write_new(&target, &content) {
                    Ok(()) => Ok(true),
                    Err(StoreError::Io { source, .. })
                        if source.kind() == ErrorKind::AlreadyExists =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(io("link", &target)(e)),
        }
    }

    fn holder(&self, ip: IpAddr) -> Result<Option<Holder>, StoreError> {
        Ok(Self::read_optional(&self.dir.join(ip.to_string()))?.map(|c| parse_holder(&c)))
    }

    fn release(&mut self, ip: IpAddr) -> Result<(), StoreError> {
        Self::remove_optional(&self.dir.join(ip.to_string()))
    }

    fn last_reserved(&self, set: usize) -> Result<Option<IpAddr>, StoreError> {
        let path = self.dir.join(format!("{LAST_RESERVED}{set}"));
        Ok(Self::read_optional(&path)?.and_then(|c| c.trim().parse().ok()))
    }

    fn set_last_reserved(&mut self, set: usize, ip: IpAddr) -> Result<(), StoreError> {
        // Written in place without a newline, as host-local writes and parses it.
        let path = self.dir.join(format!("{LAST_RESERVED}{set}"));
        fs::write(&path, ip.to_string()).map_err(io("write", &path))
    }

    fn indexed(&self, who: &Attachment) -> Result<Option<Vec<IpAddr>>, StoreError> {
        let Some(content) = Self::read_optional(&self.index_path(who))? else {
            return Ok(None);
        };
        Ok(parse_index(&content)
            .filter(|(a, _)| a == who)
            .map(|(_, ips)| ips))
    }

    fn set_indexed(&mut self, who: &Attachment, ips: &[IpAddr]) -> Result<(), StoreError> {
        let path = self.index_path(who);
        if ips.is_empty() {
            return Self::remove_optional(&path);
        }
        let mut content = format!("{INDEX_HEADER}\n{} {}\n", who.container_id, who.ifname);
        for ip in ips {
            content.push_str(&format!("{ip}\n"));
        }
        let pending = self.meta.join(PENDING_INDEX);
        fs::write(&pending, content).map_err(io("write", &pending))?;
        fs::rename(&pending, &path).map_err(io("rename", &path))
    }

    fn index_entries(&self) -> Result<Vec<Attachment>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.meta).map_err(io("list", &self.meta))? {
            let entry = entry.map_err(io("list", &self.meta))?;
            if !entry.file_name().to_str().is_some_and(is_index_name) {
                continue;
            }
            if let Some((who, _)) =
                Self::read_optional(&entry.path())?.and_then(|c| parse_index(&c))
            {
                out.push(who);
            }
        }
        Ok(out)
    }

    fn list(&self) -> Result<Vec<(IpAddr, Holder)>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io("list", &self.dir))? {
            let entry = entry.map_err(io("list", &self.dir))?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<IpAddr>().ok())
            else {
                continue;
            };
            if let Some(content) = Self::read_optional(&entry.path())? {
                out.push((ip, parse_holder(&content)));
            }
        }
        Ok(out)
    }

    fn sweep(&mut self) -> Result<(), StoreError> {
        Self::remove_optional(&self.meta.join(PENDING))?;
        Self::remove_optional(&self.meta.join(PENDING_INDEX))?;
        for entry in fs::read_dir(&self.meta).map_err(io("list", &self.meta))? {
            let entry = entry.map_err(io("list", &self.meta))?;
            let path = entry.path();
            let is_index = entry.file_name().to_str().is_some_and(is_index_name);
            if is_index
                && Self::read_optional(&path)?
                    .and_then(|c| parse_index(&c))
                    .is_none()
            {
                Self::remove_optional(&path)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: &str) -> Attachment {
        Attachment {
            container_id: id.into(),
            ifname: "eth0".into(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn files_use_host_local_names_and_contents() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = DiskStore::create(tmp.path(), "net").unwrap();
        let _l = s.lock().unwrap();
        assert!(s.reserve(ip("10.0.0.2"), &who("abc")).unwrap());
        assert!(!s.reserve(ip("10.0.0.2"), &who("def")).unwrap());
        s.set_last_reserved(0, ip("10.0.0.2")).unwrap();
        let dir = tmp.path().join("net");
        assert_eq!(
            fs::read_to_string(dir.join("10.0.0.2")).unwrap(),
            "abc\r\neth0"
        );
        assert_eq!(
            fs::read_to_string(dir.join("last_reserved_ip.0")).unwrap(),
            "10.0.0.2"
        );
        assert!(dir.join("lock").exists());
        assert!(!dir.join(".skiff/pending").exists());
        assert_eq!(s.last_reserved(0).unwrap(), Some(ip("10.0.0.2")));
        assert_eq!(
            s.holder(ip("10.0.0.2")).unwrap(),
            Some(Holder::Attachment(who("abc")))
        );
    }

    #[test]
    fn index_round_trips_and_never_looks_like_a_host_local_record() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = DiskStore::create(tmp.path(), "net").unwrap();
        let ips = [ip("10.0.0.2"), ip("fd00::2")];
        s.set_indexed(&who("abc"), &ips).unwrap();
        assert_eq!(s.indexed(&who("abc")).unwrap().unwrap(), ips);
        assert_eq!(s.indexed(&who("other")).unwrap(), None);
        assert_eq!(s.index_entries().unwrap(), [who("abc")]);
        let content = fs::read_to_string(s.index_path(&who("abc"))).unwrap();
        assert_ne!(content.trim(), "abc\r\neth0");
        assert_ne!(content.trim(), "abc");
        s.set_indexed(&who("abc"), &[]).unwrap();
        assert!(s.index_entries().unwrap().is_empty());
    }

    #[test]
    fn partial_and_legacy_records_are_recognised() {
        assert_eq!(parse_holder(""), Holder::Garbage);
        assert_eq!(parse_holder("abc\r\n"), Holder::Garbage);
        assert_eq!(parse_holder("abc"), Holder::ContainerId("abc".into()));
        assert_eq!(
            parse_holder("abc\r\neth0\n"),
            Holder::Attachment(who("abc"))
        );
    }

    #[test]
    fn list_reads_only_address_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = DiskStore::create(tmp.path(), "net").unwrap();
        s.reserve(ip("10.0.0.3"), &who("a")).unwrap();
        s.set_last_reserved(0, ip("10.0.0.3")).unwrap();
        s.set_indexed(&who("a"), &[ip("10.0.0.3")]).unwrap();
        fs::write(tmp.path().join("net/10.0.0.4"), "").unwrap();
        let mut l = s.list().unwrap();
        l.sort_by_key(|(ip, _)| *ip);
        assert_eq!(
            l,
            [
                (ip("10.0.0.3"), Holder::Attachment(who("a"))),
                (ip("10.0.0.4"), Holder::Garbage)
            ]
        );
    }

    #[test]
    fn sweep_removes_scratch_and_unreadable_index_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = DiskStore::create(tmp.path(), "net").unwrap();
        let meta = tmp.path().join("net/.skiff");
        fs::write(meta.join(PENDING), "x\r\neth0").unwrap();
        fs::write(meta.join("0".repeat(64)), "").unwrap();
        s.set_indexed(&who("a"), &[ip("10.0.0.3")]).unwrap();
        s.sweep().unwrap();
        assert_eq!(fs::read_dir(&meta).unwrap().count(), 1);
    }

    #[test]
    fn open_existing_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(DiskStore::open_existing(tmp.path(), "net")
            .unwrap()
            .is_none());
        assert!(!tmp.path().join("net").exists());
    }
}
