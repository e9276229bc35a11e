//! Containers and tasks of a private containerd handled with `ctr` alone, independent of the
//! runtime service: importing busybox, waiting for a task to stop, removing a container.

use std::path::Path;
use std::time::Duration;

use super::poll;
use crate::containerd::PrivateContainerd;
use crate::images;

/// How often `ctr` is asked again while waiting.
const EVERY: Duration = Duration::from_millis(50);

/// Builds the busybox image as an OCI layout under `dir` and imports it with `ctr`.
pub fn import_busybox(containerd: &PrivateContainerd, dir: &Path) {
    let layout = images::busybox_oci_layout(dir);
    let archive = images::oci_archive(&layout);
    containerd.ctr_ok(&["images", "import", archive.to_str().unwrap()]);
}

/// Waits until `ctr tasks ls` reports the task of container `id` as stopped.
#[track_caller]
pub fn wait_task_stopped(containerd: &PrivateContainerd, id: &str) {
    poll(EVERY, || {
        let tasks = containerd.ctr_ok(&["tasks", "ls"]);
        let stopped = tasks.lines().any(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.first() == Some(&id) && fields.last() == Some(&"STOPPED")
        });
        if stopped {
            Ok(())
        } else {
            Err(format!("task {id} never stopped: {tasks}"))
        }
    })
}

/// Kills and deletes container `id` with its task and snapshot.
#[track_caller]
pub fn remove_container(containerd: &PrivateContainerd, id: &str) {
    let _ = containerd.ctr(&["tasks", "kill", "--signal", "SIGKILL", id]);
    poll(EVERY, || {
        let out = containerd.ctr(&["tasks", "delete", id]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.contains("not found") {
            Ok(())
        } else {
            Err(format!("task {id} not deleted: {stderr}"))
        }
    });
    containerd.ctr_ok(&["containers", "delete", id]);
}
