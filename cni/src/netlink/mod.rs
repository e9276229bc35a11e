//! A small synchronous rtnetlink client (links, addresses, routes) over `netlink-sys`.
