//! kube-rs clients for a test [`ApiServer`](crate::apiserver::ApiServer).

use kube::config::{KubeConfigOptions, Kubeconfig};

/// A kube-rs client using the server's admin kubeconfig.
pub async fn client(server: &crate::apiserver::ApiServer) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig()).expect("read admin kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig to client config");
    kube::Client::try_from(config).expect("kube client")
}
