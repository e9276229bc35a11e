//! The `skiff-bridge` CNI plugin.

fn main() -> std::process::ExitCode {
    skiff_cni::skel::run(&skiff_cni::bridge::Bridge::real())
}
