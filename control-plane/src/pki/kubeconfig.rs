//! The admin kubeconfig: CA, client certificate and key embedded, so it works with kubectl as is.

use std::path::Path;

use base64::Engine;

use super::{write, Identity, Pki, PkiError};

impl Pki {
    /// Writes a kubeconfig for the admin user pointing at `server_url`.
    pub fn write_admin_kubeconfig(&self, path: &Path, server_url: &str) -> Result<(), PkiError> {
        write(
            path,
            kubeconfig(&self.ca_pem, server_url, "admin", &self.admin).as_bytes(),
            true,
        )
    }
}

/// A kubeconfig for `user` with the given identity, cluster and context named `skiff`.
pub fn kubeconfig(ca_pem: &str, server_url: &str, user: &str, id: &Identity) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: skiff\n  cluster:\n    server: {server_url}\n    \
         certificate-authority-data: {ca}\ncontexts:\n- name: skiff\n  context:\n    cluster: skiff\n    user: \
         {user}\ncurrent-context: skiff\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {cert}\n    \
         client-key-data: {key}\n",
        ca = b64(ca_pem),
        cert = b64(&id.cert_pem),
        key = b64(&id.key_pem),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_as_yaml_with_embedded_data() {
        let id = Identity {
            cert_pem: "C".into(),
            key_pem: "K".into(),
        };
        let text = kubeconfig("CA", "https://127.0.0.1:6443", "admin", &id);
        let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(doc["users"][0]["user"]["client-key-data"], "Sw==");
        assert_eq!(doc["current-context"], "skiff");
    }
}
