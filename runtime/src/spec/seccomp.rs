//! The RuntimeDefault seccomp profile, assembled like containerd's default profile.

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

use super::capabilities::CapabilitySet;
use super::config::SeccompArch;
use super::seccomp_syscalls::{for_arch, for_capability, ALLOWED, PERSONALITIES};

/// The namespace flags of `clone(2)` (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
/// NEWNET) that an unprivileged container may not pass.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// ENOSYS, so that libc falls back from `clone3` to `clone`.
const ENOSYS: u32 = 38;

/// containerd's default profile for `arch` and the process's bounding set: deny with
/// EPERM, allow the common list, `ptrace` (kernels from 4.8 on), the architecture's extras
/// and what each capability unlocks; without CAP_SYS_ADMIN, `clone` only without namespace
/// flags and `clone3` answers ENOSYS.
pub fn runtime_default(arch: SeccompArch, caps: CapabilitySet) -> LinuxSeccomp {
    let mut syscalls = vec![allow(ALLOWED)];
    for persona in PERSONALITIES {
        let arg = arg(0, persona, None, LinuxSeccompOperator::ScmpCmpEq);
        syscalls.push(allow_if(&["personality"], arg));
    }
    syscalls.push(allow(&["ptrace"]));
    if !for_arch(arch).is_empty() {
        syscalls.push(allow(for_arch(arch)));
    }
    for cap in caps.iter() {
        let unlocked = for_capability(cap);
        if !unlocked.is_empty() {
            syscalls.push(allow(unlocked));
        }
    }
    if !caps.contains(Capability::SysAdmin) {
        // s390 passes the flags as the second argument.
        let flags_arg = if arch == SeccompArch::S390x { 1 } else { 0 };
        let no_namespaces = arg(
            flags_arg,
            CLONE_NAMESPACE_FLAGS,
            Some(0),
            LinuxSeccompOperator::ScmpCmpMaskedEq,
        );
        syscalls.push(allow_if(&["clone"], no_namespaces));
        let mut clone3 = LinuxSyscall::default();
        clone3
            .set_names(vec!["clone3".into()])
            .set_action(LinuxSeccompAction::ScmpActErrno)
            .set_errno_ret(Some(ENOSYS));
        syscalls.push(clone3);
    }
    let mut seccomp = LinuxSeccomp::default();
    seccomp
        .set_default_action(LinuxSeccompAction::ScmpActErrno)
        .set_syscalls(Some(syscalls));
    let arches = architectures(arch);
    if !arches.is_empty() {
        seccomp.set_architectures(Some(arches));
    }
    seccomp
}

fn architectures(arch: SeccompArch) -> Vec<Arch> {
    match arch {
        SeccompArch::X86_64 => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        SeccompArch::Aarch64 => vec![Arch::ScmpArchArm, Arch::ScmpArchAarch64],
        SeccompArch::Riscv64 => vec![Arch::ScmpArchRiscv64],
        SeccompArch::S390x => vec![Arch::ScmpArchS390, Arch::ScmpArchS390x],
        SeccompArch::Ppc64le => vec![Arch::ScmpArchPpc64le],
        SeccompArch::Unlisted => vec![],
    }
}

fn allow(names: &[&str]) -> LinuxSyscall {
    let mut syscall = LinuxSyscall::default();
    syscall
        .set_names(names.iter().map(|n| n.to_string()).collect())
        .set_action(LinuxSeccompAction::ScmpActAllow);
    syscall
}

fn allow_if(names: &[&str], arg: LinuxSeccompArg) -> LinuxSyscall {
    let mut syscall = allow(names);
    syscall.set_args(Some(vec![arg]));
    syscall
}

fn arg(
    index: usize,
    value: u64,
    value_two: Option<u64>,
    op: LinuxSeccompOperator,
) -> LinuxSeccompArg {
    let builder = LinuxSeccompArgBuilder::default()
        .index(index)
        .value(value)
        .op(op);
    let builder = match value_two {
        Some(v) => builder.value_two(v),
        None => builder,
    };
    builder
        .build()
        .expect("every LinuxSeccompArg field has a default")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(seccomp: &LinuxSeccomp, name: &str) -> bool {
        seccomp.syscalls().as_ref().unwrap().iter().any(|s| {
            s.action() == LinuxSeccompAction::ScmpActAllow
                && s.args().is_none()
                && s.names().iter().any(|n| n == name)
        })
    }

    #[test]
    fn allow_list_has_no_duplicates() {
        let mut names = ALLOWED.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALLOWED.len());
    }

    #[test]
    fn default_caps_deny_mount_and_restrict_clone() {
        let seccomp = runtime_default(SeccompArch::X86_64, CapabilitySet::default_set());
        assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert!(allowed(&seccomp, "read"));
        assert!(allowed(&seccomp, "chroot"));
        assert!(allowed(&seccomp, "arch_prctl"));
        assert!(!allowed(&seccomp, "mount"));
        assert!(!allowed(&seccomp, "clone"));
        let syscalls = seccomp.syscalls().as_ref().unwrap();
        let clone = syscalls.iter().find(|s| s.names() == &["clone"]).unwrap();
        let arg = clone.args().as_ref().unwrap()[0];
        assert_eq!(arg.value(), 2_114_060_288);
        assert_eq!(arg.value_two(), Some(0));
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        let clone3 = syscalls.last().unwrap();
        assert_eq!(clone3.names(), &["clone3"]);
        assert_eq!(clone3.errno_ret(), Some(38));
    }

    #[test]
    fn sys_admin_unlocks_mount_and_plain_clone() {
        let mut caps = CapabilitySet::default_set();
        caps.insert(Capability::SysAdmin);
        let seccomp = runtime_default(SeccompArch::Aarch64, caps);
        assert!(allowed(&seccomp, "mount"));
        assert!(allowed(&seccomp, "clone"));
        assert!(allowed(&seccomp, "clone3"));
        assert!(allowed(&seccomp, "cacheflush"));
        assert_eq!(
            seccomp.architectures().as_deref(),
            Some(&[Arch::ScmpArchArm, Arch::ScmpArchAarch64][..])
        );
    }

    #[test]
    fn s390x_checks_clone_flags_in_the_second_argument() {
        let seccomp = runtime_default(SeccompArch::S390x, CapabilitySet::default_set());
        let syscalls = seccomp.syscalls().as_ref().unwrap();
        let clone = syscalls.iter().find(|s| s.names() == &["clone"]).unwrap();
        assert_eq!(clone.args().as_ref().unwrap()[0].index(), 1);
    }
}
