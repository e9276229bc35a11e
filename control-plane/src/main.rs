//! `skiff-control-plane`: the API server binary.

fn main() {}
