//! Container logs through containerd's real `binary://` log driver: a private containerd's
//! shim starts `skiff-container-logger`, which writes the container's stdout and stderr in the
//! CRI format, splits long lines, rotates by size without losing a line, and outlives the
//! client that started the container.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use skiff_runtime::logs::{self, LogEntry, Stream, MAX_LINE_BYTES};
use skiff_tests::cni::workspace_bin;
use skiff_tests::containerd::{mounts_under, PrivateContainerd, NEEDS};
use skiff_tests::guard::{require, Need};
use skiff_tests::images::{self, BUSYBOX_REF};
use skiff_tests::runtime::{ctr, poll};

const LOGGER: &str = "skiff-container-logger";

struct Fixture {
    containerd: PrivateContainerd,
    work: tempfile::TempDir,
    logger: PathBuf,
}

impl Fixture {
    #[track_caller]
    fn start() -> Self {
        require(&NEEDS);
        require(&[Need::File(images::BUSYBOX, "busybox-static")]);
        let logger = workspace_bin(LOGGER);
        let work = tempfile::Builder::new()
            .prefix("skiff-logs-")
            .tempdir()
            .unwrap();
        let containerd = PrivateContainerd::start();
        ctr::import_busybox(&containerd, work.path());
        Fixture {
            containerd,
            work,
            logger,
        }
    }

    /// A log path with a space, so the URI's escaping goes through the real shim.
    fn log_path(&self, container: &str) -> PathBuf {
        self.work
            .path()
            .join(format!("pod logs/{container}"))
            .join("0.log")
    }

    fn uri(&self, log: &Path, max_bytes: u64, max_files: u32) -> String {
        logs::logger_uri(&self.logger, log, max_bytes, max_files)
    }

    /// Runs `sh -c script` to completion with its output going to the logger, then waits
    /// for the logger to finish: the shim signals it on task delete but does not wait for it
    /// (its reaper takes the exit status), so `ctr run` may return first.
    fn run(&self, id: &str, uri: &str, script: &str) {
        self.containerd.ctr_ok(&[
            "run",
            "--rm",
            "--log-uri",
            uri,
            BUSYBOX_REF,
            id,
            "sh",
            "-c",
            script,
        ]);
        self.wait_for_loggers_to_exit();
    }

    fn wait_for_loggers_to_exit(&self) {
        poll(Duration::from_millis(10), || {
            match logger_processes(&self.logger, self.work.path()).as_slice() {
                [] => Ok(()),
                left => Err(format!("the logger did not exit: {left:?}")),
            }
        });
    }

    /// No container, task, active snapshot, lease, mount or logger process is left.
    #[track_caller]
    fn assert_nothing_left(&self) {
        let c = &self.containerd;
        assert_eq!(c.ctr_ok(&["containers", "ls", "-q"]).trim(), "");
        assert_eq!(c.ctr_ok(&["tasks", "ls", "-q"]).trim(), "");
        assert_eq!(c.ctr_ok(&["leases", "ls", "-q"]).trim(), "");
        let snapshots = c.ctr_ok(&["snapshots", "ls"]);
        assert!(!snapshots.contains("Active"), "{snapshots}");
        assert_eq!(mounts_under(c.dir()), Vec::<PathBuf>::new());
        assert_eq!(
            logger_processes(&self.logger, self.work.path()),
            Vec::<i32>::new()
        );
    }
}

/// Pids of running processes executing `logger` for a log under `dir`.
fn logger_processes(logger: &Path, dir: &Path) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == logger)
                && cmdline
                    .split(|&c| c == 0)
                    .any(|arg| Path::new(OsStr::from_bytes(arg)).starts_with(dir))
        })
        .collect()
}

/// The container lines of the log at `path` and its rotated files, oldest first.
fn read_log(path: &Path) -> Vec<LogEntry> {
    let mut all = Vec::new();
    for file in logs::log_files(path) {
        all.extend(std::fs::read(&file).unwrap());
    }
    logs::parse_log(&all).unwrap()
}

fn lines_of(entries: &[LogEntry], stream: Stream) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.stream == stream)
        .map(|e| String::from_utf8(e.content.clone()).unwrap())
        .collect()
}

#[test]
#[ignore = "needs root, containerd and runc: runs containers through the binary:// log driver"]
fn container_stdout_and_stderr_are_logged_in_cri_format_in_order() {
    let f = Fixture::start();
    let log = f.log_path("c1");
    let script = "i=1; while [ $i -le 200 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done; \
                  printf '  spaced\ttab  \n'; printf 'no newline'";
    f.run("c1", &f.uri(&log, 10 << 20, 5), script);

    let raw = std::fs::read_to_string(&log).unwrap();
    for line in raw.lines() {
        let parsed = logs::parse_line(line.as_bytes()).unwrap();
        assert!(
            line.starts_with(&logs::format_timestamp(parsed.time)),
            "{line}"
        );
    }
    let entries = read_log(&log);
    let mut want_out: Vec<String> = (1..=200).map(|i| format!("out-{i}")).collect();
    want_out.extend(["  spaced\ttab  ".to_string(), "no newline".to_string()]);
    let want_err: Vec<String> = (1..=200).map(|i| format!("err-{i}")).collect();
    assert_eq!(lines_of(&entries, Stream::Stdout), want_out);
    assert_eq!(lines_of(&entries, Stream::Stderr), want_err);
    // Only the unterminated rest at the end is incomplete, written as a partial line.
    let incomplete: Vec<_> = entries.iter().filter(|e| !e.complete).collect();
    assert_eq!(incomplete.len(), 1);
    assert_eq!(incomplete[0].content, b"no newline");
    assert!(raw.ends_with(" stdout P no newline\n"), "{raw}");
    for stream in [Stream::Stdout, Stream::Stderr] {
        let times: Vec<_> = entries
            .iter()
            .filter(|e| e.stream == stream)
            .map(|e| e.time)
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    f.assert_nothing_left();
}

#[test]
#[ignore = "needs root, containerd and runc: runs a container through the binary:// log driver"]
fn a_line_longer_than_16k_is_split_and_reassembles_whole() {
    let f = Fixture::start();
    let log = f.log_path("long");
    // 10 * 2^12 = 40960 bytes on one line, then a short one.
    let script = "s=0123456789; i=0; while [ $i -lt 12 ]; do s=$s$s; i=$((i+1)); done; \
                  echo $s; echo after";
    f.run("long", &f.uri(&log, 10 << 20, 5), script);

    let long = "0123456789".repeat(1 << 12);
    let raw = std::fs::read(&log).unwrap();
    let parts: Vec<_> = raw
        .split_inclusive(|&c| c == b'\n')
        .map(|l| logs::parse_line(l).unwrap())
        .collect();
    let tags: Vec<(bool, usize)> = parts.iter().map(|l| (l.partial, l.content.len())).collect();
    assert_eq!(
        tags,
        vec![
            (true, MAX_LINE_BYTES),
            (true, MAX_LINE_BYTES),
            (false, long.len() - 2 * MAX_LINE_BYTES),
            (false, 5),
        ]
    );
    assert_eq!(
        lines_of(&read_log(&log), Stream::Stdout),
        vec![long, "after".to_string()]
    );
    f.assert_nothing_left();
}

#[test]
#[ignore = "needs root, containerd and runc: runs containers through the binary:// log driver"]
fn output_past_max_size_rotates_without_losing_or_repeating_a_line() {
    let f = Fixture::start();
    let script = "i=1; while [ $i -le 3000 ]; do echo line-$i-padding-padding; i=$((i+1)); done";
    let want: Vec<String> = (1..=3000)
        .map(|i| format!("line-{i}-padding-padding"))
        .collect();
    let max_bytes = 16 * 1024;

    // Enough old files to keep everything: the concatenation is the whole output.
    let all = f.log_path("all");
    f.run("all", &f.uri(&all, max_bytes, 100), script);
    let files = logs::log_files(&all);
    assert!(files.len() > 5, "{files:?}");
    for file in &files {
        let data = std::fs::read(file).unwrap();
        assert!(data.len() as u64 <= max_bytes, "{}", file.display());
        assert!(data.ends_with(b"\n"));
        logs::parse_log(&data).unwrap();
    }
    assert_eq!(lines_of(&read_log(&all), Stream::Stdout), want);

    // Two old files: the oldest fall off, what is kept is the unbroken end of the output.
    let kept = f.log_path("kept");
    f.run("kept", &f.uri(&kept, max_bytes, 2), script);
    assert_eq!(logs::log_files(&kept).len(), 3);
    assert!(!logs::rotated_path(&kept, 3).exists());
    let got = lines_of(&read_log(&kept), Stream::Stdout);
    assert!(!got.is_empty() && got.len() < want.len());
    assert_eq!(got[..], want[want.len() - got.len()..]);
    f.assert_nothing_left();
}

#[test]
#[ignore = "needs root, containerd and runc: runs a detached container through the binary:// log driver"]
fn logging_goes_on_after_the_client_that_started_the_container_exits() {
    let f = Fixture::start();
    let log = f.log_path("detached");
    let script = "echo started; sleep 1; echo still-logged; exec sleep 600";
    // `ctr run -d` exits once the task runs; the shim and the logger stay.
    f.containerd.ctr_ok(&[
        "run",
        "-d",
        "--log-uri",
        &f.uri(&log, 10 << 20, 5),
        BUSYBOX_REF,
        "detached",
        "sh",
        "-c",
        script,
    ]);
    poll(Duration::from_millis(50), || {
        let got = std::fs::read(&log)
            .map(|d| logs::parse_log(&d).unwrap())
            .unwrap_or_default();
        if lines_of(&got, Stream::Stdout) == ["started", "still-logged"] {
            return Ok(());
        }
        Err(format!("log so far: {got:?}"))
    });
    assert_eq!(logger_processes(&f.logger, f.work.path()).len(), 1);
    f.containerd
        .ctr_ok(&["tasks", "kill", "--signal", "SIGKILL", "detached"]);
    ctr::wait_task_stopped(&f.containerd, "detached");
    f.containerd.ctr_ok(&["tasks", "rm", "detached"]);
    f.containerd.ctr_ok(&["containers", "rm", "detached"]);
    f.wait_for_loggers_to_exit();
    f.assert_nothing_left();
}
