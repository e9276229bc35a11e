//! The HTTP API server.
