//! Per-attachment masquerade and mac-spoof-check rules in nftables, one transaction per change.
