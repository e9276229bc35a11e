//! The logger side of containerd's `binary://` log driver (`runtime/v2/logging`): the shim
//! starts the logger with the container's stdout pipe on fd 3, stderr on fd 4 and a readiness
//! pipe on fd 5 (the shim waits until it is closed), `CONTAINER_ID` and `CONTAINER_NAMESPACE`
//! in the environment. The logger copies both pipes into the log until both end. The shim
//! holds the pipes' write ends until the task is deleted, so a container's unterminated last
//! line reaches the log only then; on delete the shim closes them and sends SIGTERM.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::{signal, SigHandler, SigSet, Signal};

use super::format::{encode_line, LineFramer, Stream, MAX_LINE_BYTES};
use super::rotate::RotatingFile;
use super::uri::LoggerArgs;
use super::LogError;

/// The container's stdout pipe, as the shim passes it.
pub const STDOUT_FD: RawFd = 3;
/// The container's stderr pipe, as the shim passes it.
pub const STDERR_FD: RawFd = 4;
/// The readiness pipe: closed once the log file is open.
pub const READY_FD: RawFd = 5;
/// How long after SIGTERM the logger keeps copying streams that have not ended. The shim
/// sends SIGTERM on task delete right after closing its pipe ends, so the streams normally
/// end at once.
pub const TERM_GRACE: Duration = Duration::from_secs(5);

const READ_BUFFER: usize = 64 * 1024;

/// The descriptors the shim hands the logger.
#[derive(Debug)]
pub struct ShimIo {
    /// The container's stdout.
    pub stdout: File,
    /// The container's stderr.
    pub stderr: File,
    /// Closed to tell the shim the logger is ready.
    pub ready: File,
}

impl ShimIo {
    /// Takes fds 3, 4 and 5, failing if one is not open; marks them close-on-exec.
    ///
    /// # Safety
    /// Call at most once, before the process opens any file: the returned files own those fds.
    pub unsafe fn from_inherited_fds() -> Result<Self, LogError> {
        for (fd, what) in [
            (STDOUT_FD, "stdout"),
            (STDERR_FD, "stderr"),
            (READY_FD, "ready"),
        ] {
            fcntl(
                unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
                FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC),
            )
            .map_err(|source| LogError::MissingFd { fd, what, source })?;
        }
        // SAFETY: the fds are open (checked above) and, per this function's contract, owned
        // by nothing else in the process.
        unsafe {
            Ok(ShimIo {
                stdout: File::from_raw_fd(STDOUT_FD),
                stderr: File::from_raw_fd(STDERR_FD),
                ready: File::from_raw_fd(READY_FD),
            })
        }
    }
}

/// Runs the logger: opens the log, signals readiness, copies both streams until they end
/// (or [`TERM_GRACE`] after SIGTERM), ignoring SIGHUP and SIGPIPE. A failed write is reported
/// at the end; the streams are drained meanwhile so the container never blocks on a full pipe.
pub fn run_logger(args: &LoggerArgs, io: ShimIo) -> Result<(), LogError> {
    let (tx, rx) = mpsc::channel();
    handle_signals(tx.clone())?;
    serve(args, io, TERM_GRACE, tx, rx)
}

enum Event {
    Ended(Result<(), LogError>),
    Terminate,
}

fn handle_signals(tx: Sender<Event>) -> Result<(), LogError> {
    for sig in [Signal::SIGHUP, Signal::SIGPIPE] {
        // SAFETY: ignoring a signal installs no handler code.
        unsafe { signal(sig, SigHandler::SigIgn) }.map_err(LogError::Signals)?;
    }
    // SIGTERM is blocked in every thread (they inherit this mask) and taken by one waiter.
    let mut term = SigSet::empty();
    term.add(Signal::SIGTERM);
    term.thread_block().map_err(LogError::Signals)?;
    thread::Builder::new()
        .name("sigterm".into())
        .spawn(move || {
            while term.wait().is_ok() {
                if tx.send(Event::Terminate).is_err() {
                    break;
                }
            }
        })
        .map_err(LogError::Thread)?;
    Ok(())
}

/// The log file shared by both stream copiers.
struct Sink {
    log: RotatingFile,
    stopped: bool,
    failure: Option<LogError>,
    failed_lines: u64,
}

impl Sink {
    fn write(&mut self, line: &[u8]) {
        if self.stopped {
            return;
        }
        if let Err(err) = self.log.write_line(line) {
            self.failed_lines += 1;
            if self.failure.is_none() {
                tracing::warn!(error = %err, path = %self.log.path().display(), "cannot write container log; dropping lines");
                self.failure = Some(err);
            }
        }
    }
}

fn serve(
    args: &LoggerArgs,
    io: ShimIo,
    grace: Duration,
    tx: Sender<Event>,
    rx: Receiver<Event>,
) -> Result<(), LogError> {
    let log = RotatingFile::open(&args.path, args.max_bytes, args.max_files)?;
    drop(io.ready);
    let sink = Arc::new(Mutex::new(Sink {
        log,
        stopped: false,
        failure: None,
        failed_lines: 0,
    }));
    for (stream, input) in [(Stream::Stdout, io.stdout), (Stream::Stderr, io.stderr)] {
        let (sink, tx) = (sink.clone(), tx.clone());
        thread::Builder::new()
            .name(stream.as_str().into())
            .spawn(move || {
                let _ = tx.send(Event::Ended(copy_stream(stream, input, &sink)));
            })
            .map_err(LogError::Thread)?;
    }
    drop(tx);
    let mut open = 2;
    let mut deadline: Option<Instant> = None;
    let mut failure = None;
    while open > 0 {
        let event = match deadline {
            None => rx.recv().ok(),
            Some(at) => rx
                .recv_timeout(at.saturating_duration_since(Instant::now()))
                .ok(),
        };
        match event {
            Some(Event::Ended(result)) => {
                open -= 1;
                if let Err(err) = result {
                    failure.get_or_insert(err);
                }
            }
            Some(Event::Terminate) => {
                deadline.get_or_insert_with(|| Instant::now() + grace);
            }
            None => break,
        }
    }
    // Copiers still running stop between two lines.
    let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
    sink.stopped = true;
    if open > 0 {
        tracing::warn!(streams = open, "streams still open after SIGTERM; exiting");
    }
    if sink.failed_lines > 0 {
        tracing::warn!(
            lines = sink.failed_lines,
            "container log lines were dropped"
        );
    }
    match failure.or(sink.failure.take()) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Copies one stream into the log line by line until it ends.
fn copy_stream(stream: Stream, mut input: File, sink: &Mutex<Sink>) -> Result<(), LogError> {
    let mut framer = LineFramer::new(MAX_LINE_BYTES);
    let mut buf = vec![0u8; READ_BUFFER];
    let mut line = Vec::new();
    let mut emit = |tag, content: &[u8]| {
        line.clear();
        encode_line(&mut line, SystemTime::now(), stream, tag, content);
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(&line);
    };
    let result = loop {
        match input.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => framer.push(&buf[..n], &mut emit),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(source) => break Err(LogError::Read { stream, source }),
        }
    };
    framer.finish(&mut emit);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::parse::parse_log;
    use std::io::Write;
    use std::path::Path;

    fn pipe() -> (File, File) {
        let (r, w) = nix::unistd::pipe().unwrap();
        (File::from(r), File::from(w))
    }

    struct Harness {
        out: File,
        err: File,
        ready: File,
        tx: Sender<Event>,
        done: thread::JoinHandle<Result<(), LogError>>,
    }

    fn start(path: &Path, grace: Duration) -> Harness {
        let (out_r, out) = pipe();
        let (err_r, err) = pipe();
        let (ready, ready_w) = pipe();
        let args = LoggerArgs {
            path: path.to_path_buf(),
            max_bytes: 0,
            max_files: 1,
        };
        let (tx, rx) = mpsc::channel();
        let io = ShimIo {
            stdout: out_r,
            stderr: err_r,
            ready: ready_w,
        };
        let tx2 = tx.clone();
        let done = thread::spawn(move || serve(&args, io, grace, tx2, rx));
        Harness {
            out,
            err,
            ready,
            tx,
            done,
        }
    }

    fn contents(path: &Path) -> Vec<(Stream, String, bool)> {
        let log = std::fs::read(path).unwrap();
        parse_log(&log)
            .unwrap()
            .into_iter()
            .map(|e| (e.stream, String::from_utf8(e.content).unwrap(), e.complete))
            .collect()
    }

    #[test]
    fn copies_both_streams_after_signalling_ready_and_ends_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c/0.log");
        let mut h = start(&path, TERM_GRACE);
        let mut byte = [0u8; 1];
        assert_eq!(h.ready.read(&mut byte).unwrap(), 0, "ready pipe closed");
        assert!(path.exists(), "log open before ready");
        h.out.write_all(b"one\ntwo").unwrap();
        h.err.write_all(b"oops\n").unwrap();
        let long = "x".repeat(MAX_LINE_BYTES * 2 + 10);
        writeln!(h.out, "{long}").unwrap();
        drop((h.out, h.err));
        h.done.join().unwrap().unwrap();
        let got = contents(&path);
        assert_eq!(got.len(), 3);
        assert!(got.contains(&(Stream::Stdout, "one".into(), true)));
        assert!(got.contains(&(Stream::Stderr, "oops".into(), true)));
        assert!(
            got.contains(&(Stream::Stdout, format!("two{long}"), true)),
            "long line reassembled"
        );
    }

    #[test]
    fn sigterm_ends_after_the_grace_even_if_a_stream_stays_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let mut h = start(&path, Duration::from_millis(20));
        assert_eq!(h.ready.read(&mut [0u8; 1]).unwrap(), 0, "ready pipe closed");
        h.out.write_all(b"before\n").unwrap();
        drop(h.err);
        // Wait for the line to land before terminating.
        while contents(&path).is_empty() {
            thread::sleep(Duration::from_millis(5));
        }
        h.tx.send(Event::Terminate).unwrap();
        h.done.join().unwrap().unwrap();
        assert_eq!(
            contents(&path),
            vec![(Stream::Stdout, "before".into(), true)]
        );
        drop(h.out);
    }

    #[test]
    fn unopenable_log_is_an_error_before_ready() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let h = start(&blocker.join("0.log"), TERM_GRACE);
        assert!(matches!(
            h.done.join().unwrap(),
            Err(LogError::CreateDir { .. })
        ));
    }
}
