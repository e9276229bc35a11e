//! Skiff's service proxy. It will hold the Service/EndpointSlice watchers, the pure service
//! model, and the IPVS (generic netlink) and nftables-only dataplanes. Nothing is implemented yet.
