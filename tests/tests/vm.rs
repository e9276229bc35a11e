//! The VM tier's own checks: the guest boots Debian's kernel, loads requested modules and
//! reports the command's exit status.

use skiff_tests::vm::{self, Kernel, Vm};

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel under qemu"]
fn guest_runs_debian_kernel_with_requested_modules_and_programs_and_reports_exit_status() {
    vm::require();
    let release = Kernel::locate().unwrap().release().to_string();
    let run = Vm::new()
        .modules(&["veth"])
        .programs(&["ip"])
        .run(&[
            "/bin/sh",
            "-c",
            "cat /proc/version; grep -o '^veth ' /proc/modules; \
             echo \"guest=$SKIFF_VM_GUEST\"; ip -V; exit 3",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.status, 3, "{}", run.console);
    assert!(
        run.console.contains(&format!("Linux version {release}")),
        "{}",
        run.console
    );
    assert!(run.console.contains("veth \n"), "{}", run.console);
    assert!(run.console.contains("guest=1"), "{}", run.console);
    // The carried iproute2, not busybox's `ip` applet.
    assert!(run.console.contains("iproute2"), "{}", run.console);
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel under qemu"]
fn guest_reports_a_requested_module_that_does_not_exist() {
    vm::require();
    let err = Vm::new()
        .modules(&["skiff_no_such_module"])
        .run(&["/bin/true"])
        .expect_err("modprobe cannot resolve an unknown module");
    assert!(err.to_string().contains("skiff_no_such_module"), "{err}");
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel under qemu"]
fn test_body_runs_inside_the_guest_on_debian_kernel_with_its_modules() {
    let vm = Vm::new().modules(&["dummy"]);
    vm::run_test(
        "test_body_runs_inside_the_guest_on_debian_kernel_with_its_modules",
        vm,
        || {
            assert!(vm::in_guest());
            let version = std::fs::read_to_string("/proc/version").unwrap();
            assert!(version.contains("Debian"), "{version}");
            let modules = std::fs::read_to_string("/proc/modules").unwrap();
            assert!(
                modules.lines().any(|l| l.starts_with("dummy ")),
                "{modules}"
            );
        },
    );
}
