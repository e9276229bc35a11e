//! `skiff-cni`: attach and detach a network namespace with the node's CNI configuration, the
//! way a container runtime does (like cnitool). For operators and the bring-up script.

use skiff_cni::runtime::{AttachmentArgs, Network, NetworkConfigList, RuntimeOptions};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: skiff-cni <add|del|check> <netns path> [--id ID] [--ifname NAME]
       skiff-cni <status|gc>
options (before or after the command):
  --conf-dir DIR    network configuration directory (default /etc/cni/net.d)
  --network NAME    network to use (default: the first valid configuration)
  --cni-path DIRS   plugin directories, ':'-separated (default /opt/cni/bin)
  --cache-dir DIR   result cache (default /var/lib/cni)";

struct Args {
    command: String,
    netns: Option<PathBuf>,
    id: Option<String>,
    ifname: String,
    conf_dir: PathBuf,
    network: Option<String>,
    options: RuntimeOptions,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut args = Args {
        command: String::new(),
        netns: None,
        id: None,
        ifname: "eth0".into(),
        conf_dir: PathBuf::from("/etc/cni/net.d"),
        network: None,
        options: RuntimeOptions::default(),
    };
    while let Some(a) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--id" => args.id = Some(value()?),
            "--ifname" => args.ifname = value()?,
            "--conf-dir" => args.conf_dir = value()?.into(),
            "--network" => args.network = Some(value()?),
            "--cni-path" => {
                args.options.cni_path = value()?.split(':').map(PathBuf::from).collect()
            }
            "--cache-dir" => args.options.cache_dir = value()?.into(),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => positional.push(a),
        }
    }
    let mut positional = positional.into_iter();
    args.command = positional.next().ok_or("no command given")?;
    args.netns = positional.next().map(PathBuf::from);
    if let Some(extra) = positional.next() {
        return Err(format!("unexpected argument {extra}"));
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), String> {
    let config = NetworkConfigList::load_dir(&args.conf_dir, args.network.as_deref())
        .map_err(|e| e.to_string())?;
    let network = Network::new(config, args.options);
    let attachment = || -> Result<AttachmentArgs, String> {
        let netns = args
            .netns
            .clone()
            .ok_or(format!("{} needs a netns path", args.command))?;
        // Like cnitool, the container id defaults to one derived from the namespace.
        let id = args.id.clone().unwrap_or_else(|| {
            let name = netns.file_name().map(|n| n.to_string_lossy().into_owned());
            format!("skiff-cni-{}", name.unwrap_or_default())
        });
        Ok(AttachmentArgs::new(id, Some(netns), args.ifname.clone()))
    };
    match args.command.as_str() {
        "add" => {
            let result = network.add(&attachment()?).map_err(|e| e.to_string())?;
            println!("{}", result.to_json(network.config().cni_version));
        }
        "del" => network.del(&attachment()?).map_err(|e| e.to_string())?,
        "check" => network.check(&attachment()?).map_err(|e| e.to_string())?,
        "status" => network.status().map_err(|e| e.to_string())?,
        "gc" => {
            let valid: Vec<_> = network
                .cached_attachments()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|e| skiff_cni::conf::Attachment {
                    container_id: e.container_id,
                    ifname: e.if_name,
                })
                .collect();
            network.gc(&valid).map_err(|e| e.to_string())?;
        }
        other => return Err(format!("unknown command {other}")),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("skiff-cni: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skiff-cni: {e}");
            ExitCode::FAILURE
        }
    }
}
