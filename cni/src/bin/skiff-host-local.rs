//! The `skiff-host-local` CNI plugin.
fn main() -> std::process::ExitCode {
    unimplemented_yet()
}
#[allow(clippy::missing_const_for_fn)]
fn unimplemented_yet() -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
