//! `skiff-container-logger`: containerd's `binary://` log driver for Skiff containers. The
//! shim runs it with the container's stdout and stderr on fds 3 and 4 and a readiness pipe on
//! fd 5; it writes both streams to a CRI-format log file rotated by size.
//!
//! Arguments (key and value pairs, any order, as the shim passes the URI's query):
//! `path <log file> [max-size <bytes>] [max-files <count>]`.

use std::process::ExitCode;

use skiff_runtime::logs::{run_logger, LoggerArgs, ShimIo};

fn main() -> ExitCode {
    // SAFETY: nothing has opened a file yet; fds 3-5 are the shim's and now ours alone.
    let io = unsafe { ShimIo::from_inherited_fds() };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let container = std::env::var("CONTAINER_ID").unwrap_or_default();
    let result = LoggerArgs::from_args(std::env::args_os().skip(1))
        .map_err(|err| err.to_string())
        .and_then(|args| {
            let io = io.map_err(|err| report(&err))?;
            run_logger(&args, io).map_err(|err| report(&err))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("skiff-container-logger: container {container:?}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// An error with its chain of causes, on one line.
fn report(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
