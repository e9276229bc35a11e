//! What the model builder skipped, and why; reported to operators, never fatal.

/// A part of a Service or EndpointSlice the model could not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelWarning {
    /// A ClusterIP, external IP or load-balancer IP that does not parse.
    #[error("service {service}: {field} {value:?} is not an IP address; ignored")]
    BadServiceIp {
        /// `namespace/name` of the Service.
        service: String,
        /// Which field held it (`clusterIPs`, `externalIPs`, `loadBalancer.ingress`).
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// A port protocol other than TCP, UDP or SCTP.
    #[error("service {service}: port {port} has unsupported protocol {protocol:?}; skipped")]
    UnsupportedProtocol {
        /// `namespace/name` of the Service.
        service: String,
        /// The port number.
        port: i32,
        /// The protocol found.
        protocol: String,
    },
    /// A port number outside 1..=65535 (service port, node port or health-check port).
    #[error("service {service}: {field} {value} is not a valid port; ignored")]
    BadPort {
        /// `namespace/name` of the Service.
        service: String,
        /// Which field held it.
        field: &'static str,
        /// The number found.
        value: i32,
    },
    /// An EndpointSlice address that does not parse as an IP.
    #[error("endpointslice {slice}: address {address:?} is not an IP address; skipped")]
    BadEndpointAddress {
        /// `namespace/name` of the EndpointSlice.
        slice: String,
        /// The text found.
        address: String,
    },
}
