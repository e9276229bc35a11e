//! The `skiff-host-local` CNI plugin.
fn main() -> std::process::ExitCode {
    skiff_cni::skel::run(&skiff_cni::ipam::HostLocal::new())
}
