//! host-local-compatible IPAM: configuration, the allocator over an `IpamStore`, the on-disk store in host-local's format, and the plugin.
