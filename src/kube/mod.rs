//! Kubernetes: the manifests `regcred kube` reads and writes, the names of the Secrets it
//! makes, and the node configuration (k3s/RKE2 registries.yaml, containerd hosts.toml) the
//! exports write. Pure over data: the commands bring the store's answers.

pub(crate) mod fast;
pub(crate) mod manifest;
pub(crate) mod nodes;
pub(crate) mod secret;
pub(crate) mod yaml;
