//! The runtime side: load network configuration lists and run plugin chains, as libcni does.
