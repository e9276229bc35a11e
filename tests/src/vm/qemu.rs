//! Booting the guest under qemu (TCG, no network device) and reading its serial console until
//! `/init` reports the command's exit status.

use super::VmError;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How the guest is sized.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// How long the whole boot-and-run may take before qemu is killed.
    pub timeout: Duration,
}

/// What the console showed, and the status after `marker=` when it was reported.
#[derive(Debug)]
pub struct Console {
    /// The reported exit status, if the marker line appeared.
    pub status: Option<i32>,
    /// Everything the guest and qemu printed, `\r` removed.
    pub text: String,
}

/// The qemu command line: TCG, one CPU, serial on stdio, no default devices (so no NIC).
pub fn command(vmlinuz: &Path, initrd: &Path, machine: Machine) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-nodefaults", "-no-user-config", "-no-reboot"])
        .args(["-machine", "pc,accel=tcg", "-cpu", "max", "-smp", "1"])
        .args(["-m", &machine.memory_mib.to_string()])
        .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
        .args(["-nic", "none"])
        .arg("-kernel")
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 quiet panic=-1"]);
    cmd
}

/// Boots and returns the console once the marker appears, qemu exits, or the timeout passes.
pub fn boot(mut cmd: Command, machine: Machine, marker: &str) -> Result<Console, VmError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| VmError::Spawn {
            program: "qemu-system-x86_64",
            source,
        })?;
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line).replace('\r', "");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let deadline = Instant::now() + machine.timeout;
    let prefix = format!("{marker}=");
    let mut text = String::new();
    let mut status = None;
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(at) = line.find(&prefix) {
                    status = line[at + prefix.len()..].trim().parse().ok();
                }
                text.push_str(&line);
                text.push('\n');
                if status.is_some() {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
        }
    }
    // After the marker the guest powers off on its own; give it a moment, then make sure.
    stop(
        &mut child,
        if timed_out {
            Duration::ZERO
        } else {
            Duration::from_secs(10)
        },
    );
    drop(rx);
    let _ = reader.join();
    let stderr = errors.join().unwrap_or_default();
    if !stderr.trim().is_empty() {
        text.push_str("--- qemu stderr ---\n");
        text.push_str(&stderr);
    }
    match (status, timed_out) {
        (Some(status), _) => Ok(Console {
            status: Some(status),
            text,
        }),
        (None, true) => Err(VmError::Timeout {
            after: machine.timeout,
            console: text,
        }),
        (None, false) => Ok(Console { status: None, text }),
    }
}

fn stop(child: &mut Child, grace: Duration) {
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
