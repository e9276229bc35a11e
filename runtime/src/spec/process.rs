//! The spec's `process`: command, environment, user, capabilities and limits.

use oci_spec::runtime::{
    LinuxCapabilities, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process, User,
};

use super::capabilities::CapabilitySet;
use super::config::{ContainerSpecConfig, RlimitResource};

/// containerd's default `PATH`, used when the container sets none.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The process section for a validated config and its resolved capabilities.
///
/// Capabilities go into the bounding, effective and permitted sets only: like containerd's
/// CRI plugin, no inheritable or ambient capabilities.
pub fn build(config: &ContainerSpecConfig, caps: CapabilitySet) -> Process {
    let mut user = User::default();
    let mut gids = config.user.additional_gids.clone();
    gids.sort_unstable();
    gids.dedup();
    user.set_uid(config.user.uid)
        .set_gid(config.user.gid)
        .set_additional_gids((!gids.is_empty()).then_some(gids));

    let mut capabilities = LinuxCapabilities::default();
    capabilities
        .set_bounding(Some(caps.to_oci()))
        .set_effective(Some(caps.to_oci()))
        .set_permitted(Some(caps.to_oci()))
        .set_inheritable(None)
        .set_ambient(None);

    let rlimits: Vec<PosixRlimit> = config.rlimits.iter().map(rlimit).collect();
    let cwd = config.working_dir.clone().unwrap_or_else(|| "/".into());

    let mut process = Process::default();
    process
        .set_terminal(config.tty.then_some(true))
        .set_user(user)
        .set_args(Some(config.args.clone()))
        .set_env(Some(env(&config.env)))
        .set_cwd(cwd)
        .set_capabilities(Some(capabilities))
        .set_rlimits((!rlimits.is_empty()).then_some(rlimits))
        .set_no_new_privileges(config.security.no_new_privileges.then_some(true))
        .set_oom_score_adj(config.resources.oom_score_adj);
    process
}

/// `NAME=value` strings: a later duplicate replaces the earlier value in place, and the
/// default `PATH` comes first when none is given.
fn env(vars: &[(String, String)]) -> Vec<String> {
    let mut merged: Vec<(&str, &str)> = Vec::with_capacity(vars.len() + 1);
    for (name, value) in vars {
        match merged.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => merged.push((name, value)),
        }
    }
    let mut out = Vec::with_capacity(merged.len() + 1);
    if !merged.iter().any(|(n, _)| *n == "PATH") {
        out.push(DEFAULT_PATH.to_string());
    }
    out.extend(merged.iter().map(|(n, v)| format!("{n}={v}")));
    out
}

fn rlimit(limit: &super::config::Rlimit) -> PosixRlimit {
    let typ = match limit.resource {
        RlimitResource::As => PosixRlimitType::RlimitAs,
        RlimitResource::Core => PosixRlimitType::RlimitCore,
        RlimitResource::Cpu => PosixRlimitType::RlimitCpu,
        RlimitResource::Data => PosixRlimitType::RlimitData,
        RlimitResource::Fsize => PosixRlimitType::RlimitFsize,
        RlimitResource::Locks => PosixRlimitType::RlimitLocks,
        RlimitResource::Memlock => PosixRlimitType::RlimitMemlock,
        RlimitResource::Msgqueue => PosixRlimitType::RlimitMsgqueue,
        RlimitResource::Nice => PosixRlimitType::RlimitNice,
        RlimitResource::Nofile => PosixRlimitType::RlimitNofile,
        RlimitResource::Nproc => PosixRlimitType::RlimitNproc,
        RlimitResource::Rss => PosixRlimitType::RlimitRss,
        RlimitResource::Rtprio => PosixRlimitType::RlimitRtprio,
        RlimitResource::Rttime => PosixRlimitType::RlimitRttime,
        RlimitResource::Sigpending => PosixRlimitType::RlimitSigpending,
        RlimitResource::Stack => PosixRlimitType::RlimitStack,
    };
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(limit.soft)
        .hard(limit.hard)
        .build()
        .expect("every PosixRlimit field has a default")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_gets_default_path_first_when_unset() {
        assert_eq!(env(&vars(&[("A", "1")])), [DEFAULT_PATH, "A=1"]);
    }

    #[test]
    fn env_keeps_given_path_and_lets_later_duplicates_win_in_place() {
        let got = env(&vars(&[
            ("A", "1"),
            ("PATH", "/bin"),
            ("B", "2"),
            ("A", "3"),
        ]));
        assert_eq!(got, ["A=3", "PATH=/bin", "B=2"]);
    }

    #[test]
    fn values_may_contain_equals_signs() {
        assert_eq!(env(&vars(&[("PATH", "/x"), ("Q", "a=b")]))[1], "Q=a=b");
    }
}
