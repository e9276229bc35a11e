//! The exec's private FIFO directory and reading its output to the end.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

/// Output kept per stream; the rest is read and dropped so the process never blocks on it.
pub(crate) const OUTPUT_CAP: usize = 16 * 1024 * 1024;

/// `<state_dir>/exec/<exec id>/` with FIFOs `stdout` and `stderr`; removed on drop.
pub(crate) struct ExecDir {
    path: PathBuf,
}

/// The read ends of both FIFOs, opened before containerd opens the write ends.
pub(crate) struct ExecOutput {
    stdout: pipe::Receiver,
    stderr: pipe::Receiver,
}

impl ExecDir {
    /// Creates the directory (mode 0700, parents as needed) and both FIFOs (mode 0600).
    pub(crate) fn create(state_dir: &Path, exec_id: &str) -> io::Result<Self> {
        let parent = state_dir.join("exec");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&parent)?;
        let path = parent.join(exec_id);
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        let dir = Self { path };
        for fifo in [dir.stdout(), dir.stderr()] {
            nix::unistd::mkfifo(&fifo, Mode::S_IRUSR | Mode::S_IWUSR).map_err(io::Error::from)?;
        }
        Ok(dir)
    }

    /// The directory.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The stdout FIFO.
    pub(crate) fn stdout(&self) -> PathBuf {
        self.path.join("stdout")
    }

    /// The stderr FIFO.
    pub(crate) fn stderr(&self) -> PathBuf {
        self.path.join("stderr")
    }

    /// Opens both FIFOs for reading without blocking (no writer exists yet).
    pub(crate) fn open(&self) -> io::Result<ExecOutput> {
        Ok(ExecOutput {
            stdout: pipe::OpenOptions::new().open_receiver(self.stdout())?,
            stderr: pipe::OpenOptions::new().open_receiver(self.stderr())?,
        })
    }
}

impl Drop for ExecDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(dir = %self.path.display(), %error, "cannot remove exec FIFO directory");
        }
    }
}

impl ExecOutput {
    /// Reads both streams until every writer closed them: `(stdout, stderr)`, each capped at
    /// [`OUTPUT_CAP`].
    ///
    /// Call only once the writers are open (after the exec started): a FIFO without writers
    /// reads as ended.
    pub(crate) async fn read_to_end(self) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let (stdout, stderr) = tokio::join!(
            read_capped(self.stdout, OUTPUT_CAP),
            read_capped(self.stderr, OUTPUT_CAP)
        );
        Ok((stdout?, stderr?))
    }
}

/// Everything `reader` yields until its end, keeping the first `cap` bytes.
pub(crate) async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    mut reader: R,
    cap: usize,
) -> io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(kept);
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    #[tokio::test]
    async fn read_capped_keeps_the_first_bytes_and_drains_the_rest() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let kept = read_capped(&data[..], 1000).await.unwrap();
        assert_eq!(kept, &data[..1000]);
        let all = read_capped(&data[..], OUTPUT_CAP).await.unwrap();
        assert_eq!(all, data);
    }

    #[tokio::test]
    async fn exec_dir_holds_private_fifos_that_carry_output_and_vanishes_on_drop() {
        let state = tempfile::tempdir().unwrap();
        let dir = ExecDir::create(state.path(), "abc").unwrap();
        let path = dir.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        for fifo in [dir.stdout(), dir.stderr()] {
            assert!(std::fs::metadata(fifo).unwrap().file_type().is_fifo());
        }
        let output = dir.open().unwrap();
        let (out_path, err_path) = (dir.stdout(), dir.stderr());
        let writer = std::thread::spawn(move || {
            std::fs::write(out_path, b"hi\n").unwrap();
            std::fs::write(err_path, b"err\n").unwrap();
        });
        // Writers open right after the receivers here; containerd opens them before Start returns.
        writer.join().unwrap();
        let (stdout, stderr) = output.read_to_end().await.unwrap();
        // The writes may have ended before the read; the pipe buffer keeps them.
        assert_eq!(stdout, b"hi\n");
        assert_eq!(stderr, b"err\n");
        drop(dir);
        assert!(!path.exists());
    }
}
