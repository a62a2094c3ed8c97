//! Node configuration for the registries of an environment: the `registries.yaml` of k3s
//! and RKE2, and containerd's `hosts.toml` per registry (the `config_path` layout of
//! containerd 1.5 and later). Pure: the command gathers the registries and writes files.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use super::yaml;

/// What a node must know about one registry.
pub struct NodeRegistry {
    /// `host[:port]`, canonical (`docker.io` for Docker Hub).
    pub address: String,
    pub auth: Option<Auth>,
    /// docker's insecure registry: HTTPS without verification, then plain HTTP.
    pub insecure: bool,
    /// The trusted CA (or pinned self-signed) certificates, PEM.
    pub ca_pem: Option<String>,
}

/// A username and its password. Deliberately not `Debug`.
pub struct Auth {
    pub username: String,
    pub password: Zeroizing<String>,
}

/// The first line of every hosts.toml regcred writes: how it knows a file is its own.
pub const HOSTS_TOML_MARKER: &str = "# Written by regcred (regcred export containerd-hosts).";

/// Where `registries.yaml` says a registry's CA file is: `CA_DIR/<host[:port]>/ca.crt`.
pub fn ca_file(ca_dir: &Path, address: &str) -> PathBuf {
    ca_dir.join(address).join("ca.crt")
}

/// k3s/RKE2 `registries.yaml`: `configs."<host>"` with `auth` (username, password) and
/// `tls` (`ca_file`, `insecure_skip_verify`). Mirrors are left to the operator.
pub fn registries_yaml(registries: &[NodeRegistry], ca_dir: &Path) -> Zeroizing<String> {
    let mut configs = Map::new();
    for registry in registries {
        let mut config = Map::new();
        if let Some(auth) = &registry.auth {
            let mut entry = Map::new();
            entry.insert("username".into(), Value::String(auth.username.clone()));
            entry.insert("password".into(), Value::String(auth.password.as_str().to_owned()));
            config.insert("auth".into(), Value::Object(entry));
        }
        let mut tls = Map::new();
        if registry.ca_pem.is_some() {
            let path = ca_file(ca_dir, &registry.address).display().to_string();
            tls.insert("ca_file".into(), Value::String(path));
        }
        if registry.insecure {
            tls.insert("insecure_skip_verify".into(), Value::Bool(true));
        }
        if !tls.is_empty() {
            config.insert("tls".into(), Value::Object(tls));
        }
        configs.insert(registry.address.clone(), Value::Object(config));
    }
    let mut root = Map::new();
    root.insert("configs".into(), Value::Object(configs));
    let mut value = Value::Object(root);
    let body = Zeroizing::new(yaml::to_string(&value));
    wipe(&mut value);
    Zeroizing::new(format!(
        "# registries.yaml for k3s and RKE2 (/etc/rancher/k3s/registries.yaml,\n\
         # /etc/rancher/rke2/registries.yaml) from `regcred export registries-yaml`.\n\
         # It holds passwords: keep it mode 0600. Restart k3s/rke2 after changing it.\n{}",
        body.as_str()
    ))
}

/// Zeroizes every string of a value before it is dropped.
fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

/// The directory containerd looks in for a registry: `host[:port]` as written in image
/// references (`docker.io` for Docker Hub).
pub fn hosts_dir_name(address: &str) -> &str {
    address
}

/// The endpoint containerd talks to for a registry.
fn server(address: &str, scheme: &str) -> String {
    if address == "docker.io" { format!("{scheme}://registry-1.docker.io") } else { format!("{scheme}://{address}") }
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// containerd's `hosts.toml` for one registry: the registry itself as the server, able to
/// pull and resolve; its CA as `ca.crt` beside the file; for an insecure registry HTTPS
/// without verification and then plain HTTP, as docker treats one.
pub fn hosts_toml(registry: &NodeRegistry) -> String {
    let https = server(&registry.address, "https");
    let mut text =
        format!("{HOSTS_TOML_MARKER}\n# Edits are lost the next time it runs.\n\nserver = {}\n", quoted(&https));
    text.push_str(&format!("\n[host.{}]\n  capabilities = [\"pull\", \"resolve\"]\n", quoted(&https)));
    if registry.ca_pem.is_some() {
        text.push_str("  ca = \"ca.crt\"\n");
    }
    if registry.insecure {
        text.push_str("  skip_verify = true\n");
        let http = server(&registry.address, "http");
        text.push_str(&format!("\n[host.{}]\n  capabilities = [\"pull\", \"resolve\"]\n", quoted(&http)));
    }
    text
}

/// Whether a hosts.toml is one regcred wrote (and may replace).
pub fn written_by_regcred(text: &str) -> bool {
    text.lines().next() == Some(HOSTS_TOML_MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(address: &str, insecure: bool, ca: bool) -> NodeRegistry {
        NodeRegistry {
            address: address.into(),
            auth: Some(Auth { username: "ci".into(), password: Zeroizing::new("p\"w: #1".into()) }),
            insecure,
            ca_pem: ca.then(|| "PEM".into()),
        }
    }

    #[test]
    fn hosts_toml_parses_as_containerd_expects() {
        let text = hosts_toml(&registry("10.0.0.7:5000", true, false));
        assert!(written_by_regcred(&text));
        let value: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(value["server"].as_str(), Some("https://10.0.0.7:5000"));
        let hosts = value["host"].as_table().unwrap();
        assert_eq!(hosts["https://10.0.0.7:5000"]["skip_verify"].as_bool(), Some(true));
        assert!(hosts.contains_key("http://10.0.0.7:5000"));
        // HTTPS is tried first.
        assert!(text.find("[host.\"https").unwrap() < text.find("[host.\"http:").unwrap());
        let hub: toml::Table = toml::from_str(&hosts_toml(&registry("docker.io", false, true))).unwrap();
        assert_eq!(hub["server"].as_str(), Some("https://registry-1.docker.io"));
        assert_eq!(hub["host"]["https://registry-1.docker.io"]["ca"].as_str(), Some("ca.crt"));
    }

    #[test]
    fn registries_yaml_reads_back() {
        let text = registries_yaml(&[registry("r.lan:5000", false, true)], Path::new("/etc/rancher/certs"));
        let docs = yaml::parse_stream(&text).unwrap();
        assert_eq!(docs[0]["configs"]["r.lan:5000"]["auth"]["password"], "p\"w: #1");
        assert_eq!(docs[0]["configs"]["r.lan:5000"]["tls"]["ca_file"], "/etc/rancher/certs/r.lan:5000/ca.crt");
    }
}
