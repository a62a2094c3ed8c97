//! Node configuration: `export registries-yaml` read back against k3s's documented schema,
//! and `export containerd-hosts` used by a real containerd (its own socket, root and state
//! in the test's temp dir; no system service touched) to pull from a real registry.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::registry_server::{Registry, available, write_oci_layout};
use crate::util::TestEnv;

/// The fields k3s and RKE2 read under `configs."<host>"` in registries.yaml, with their
/// types, as the k3s documentation lists them (docs.k3s.io, "Private Registry
/// Configuration", section "Configs"; the same fields as the RKE2 documentation's
/// "Private Registry Configuration"): `auth.username`, `auth.password`, `auth.token`,
/// `auth.auth` (strings), `tls.cert_file`, `tls.key_file`, `tls.ca_file` (paths, strings),
/// `tls.insecure_skip_verify` (boolean).
const K3S_CONFIG_FIELDS: [(&str, &str, &str); 8] = [
    ("auth", "username", "string"),
    ("auth", "password", "string"),
    ("auth", "token", "string"),
    ("auth", "auth", "string"),
    ("tls", "cert_file", "string"),
    ("tls", "key_file", "string"),
    ("tls", "ca_file", "string"),
    ("tls", "insecure_skip_verify", "boolean"),
];

/// registries.yaml as PyYAML (a YAML 1.1 reader, as go-yaml in k3s) reads it.
fn read_yaml(text: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", "import sys, json, yaml\nprint(json.dumps(yaml.safe_load(sys.stdin)))"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyYAML cannot read:\n{text}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every field is one k3s documents, of its type.
fn check_k3s_schema(value: &Value) {
    let root = value.as_object().expect("a mapping");
    for key in root.keys() {
        assert!(key == "configs" || key == "mirrors", "registries.yaml has an unknown top-level key {key:?}");
    }
    for (host, config) in root["configs"].as_object().expect("configs is a mapping") {
        for (section, fields) in config.as_object().expect("a config is a mapping") {
            for (field, v) in fields.as_object().unwrap_or_else(|| panic!("{host}.{section} is not a mapping")) {
                let Some((_, _, kind)) = K3S_CONFIG_FIELDS.iter().find(|(s, f, _)| s == section && f == field) else {
                    panic!("configs.{host}.{section}.{field} is not a k3s field");
                };
                let ok = match *kind {
                    "string" => v.is_string(),
                    _ => v.is_boolean(),
                };
                assert!(ok, "configs.{host}.{section}.{field} is not a {kind}: {v}");
            }
        }
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn registries_yaml_has_k3s_fields_and_the_pinned_certificates() {
    if !available("registries_yaml_has_k3s_fields_and_the_pinned_certificates", &["python3", "openssl"]) {
        return;
    }
    let t = TestEnv::new();
    let pem_path = t.root().join("ca.pem");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=registry.lan"])
        .arg("-keyout")
        .arg(t.root().join("key.pem"))
        .arg("-out")
        .arg(&pem_path)
        .output()
        .unwrap();
    assert!(made.status.success());
    t.add_with(&["registry.lan:5000", "-u", "ci", "--ca-cert", pem_path.to_str().unwrap()], "pw: with #chars");
    t.add("10.0.0.7:5000", "robot", "robot-pw");
    t.run(&["tls", "set", "10.0.0.7:5000", "--insecure"]).ok();
    t.add("ghcr.io/acme", "bob", "scoped-pw");
    t.add_with(&["-u", "hubuser"], "hub-pw");

    let ca_dir = t.root().join("certs");
    let out_file = t.root().join("registries.yaml");
    let run = t
        .run(&[
            "export",
            "registries-yaml",
            "--ca-dir",
            ca_dir.to_str().unwrap(),
            "--output-file",
            out_file.to_str().unwrap(),
        ])
        .ok()
        .stderr_has("skipped credential")
        .stderr_has("ghcr.io/acme");
    assert!(run.stdout.is_empty());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(&out_file).unwrap().permissions().mode() & 0o777, 0o600);
    let value = read_yaml(&fs::read_to_string(&out_file).unwrap());
    check_k3s_schema(&value);
    let configs = &value["configs"];
    assert_eq!(configs["registry.lan:5000"]["auth"]["username"], "ci");
    assert_eq!(configs["registry.lan:5000"]["auth"]["password"], "pw: with #chars");
    assert_eq!(configs["10.0.0.7:5000"]["tls"]["insecure_skip_verify"], true);
    assert_eq!(configs["docker.io"]["auth"]["password"], "hub-pw");
    // The scoped credential has no place here; ghcr.io itself gets nothing.
    assert!(configs["ghcr.io"].get("auth").is_none(), "{configs}");
    // The certificate files it names exist and are the pinned ones.
    let ca_file = PathBuf::from(configs["registry.lan:5000"]["tls"]["ca_file"].as_str().unwrap());
    assert!(ca_file.starts_with(&ca_dir), "{}", ca_file.display());
    let pinned = t.run(&["tls", "show", "registry.lan:5000", "-o", "json"]).ok().json();
    let pinned_pem = pinned[0]["ca_cert"].as_str().or(pinned["ca_cert"].as_str()).map(str::to_owned);
    let written = fs::read_to_string(&ca_file).unwrap();
    match pinned_pem {
        Some(pem) => assert_eq!(written, pem),
        None => assert!(written.contains("BEGIN CERTIFICATE"), "{written}"),
    }
    let original = fs::read_to_string(&pem_path).unwrap();
    assert_eq!(strip_pem(&written), strip_pem(&original));

    // Without --ca-dir, ca_file points into /etc/rancher/certs and nothing is written.
    let run = t.run(&["export", "registries-yaml", "--registry", "registry.lan:5000"]).ok();
    let value = read_yaml(&run.stdout);
    check_k3s_schema(&value);
    assert_eq!(value["configs"]["registry.lan:5000"]["tls"]["ca_file"], "/etc/rancher/certs/registry.lan:5000/ca.crt");
    assert_eq!(value["configs"].as_object().unwrap().len(), 1);
}

fn strip_pem(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// A containerd of the test's own: socket, root and state in a temp dir.
struct Containerd {
    child: Child,
    dir: tempfile::TempDir,
}

impl Containerd {
    fn start() -> Containerd {
        let dir = tempfile::Builder::new().prefix("rc-ctd-").tempdir_in("/tmp").unwrap();
        let d = dir.path();
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("c.sock").display(),
        );
        fs::write(d.join("config.toml"), config).unwrap();
        let log = fs::File::create(d.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let c = Containerd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !c.ctr(&["version"]).status.success() {
            assert!(Instant::now() < deadline, "containerd did not start: {}", c.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn ctr(&self, args: &[&str]) -> std::process::Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.dir.path().join("c.sock"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ctr")
    }

    /// `ctr images pull --hosts-dir DIR --user …` of `image`.
    fn pull(&self, hosts_dir: &Path, registry: &Registry, image: &str) -> std::process::Output {
        let user = format!("{}:{}", registry.username, registry.password);
        let out = self.ctr(&[
            "images",
            "pull",
            "--snapshotter",
            "native",
            "--hosts-dir",
            hosts_dir.to_str().unwrap(),
            "--user",
            &user,
            image,
        ]);
        // Forget it, so the next pull of the same reference asks the registry again.
        let _ = self.ctr(&["images", "rm", image]);
        out
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn push(t: &TestEnv, registry: &Registry, repository: &str) {
    let layout = write_oci_layout(t.root());
    let creds = format!("{}:{}", registry.username, registry.password);
    let out = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds])
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{}/{repository}", registry.address()))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));
}

/// A name in /etc/hosts for 127.0.0.1 other than `localhost`: containerd treats
/// `localhost` and loopback IPs as plain HTTP by default, so only under another name does
/// a plain-HTTP pull depend on hosts.toml.
fn loopback_alias() -> Option<String> {
    let hosts = fs::read_to_string("/etc/hosts").ok()?;
    hosts.lines().find_map(|line| {
        let mut words = line.split('#').next()?.split_whitespace();
        (words.next()? == "127.0.0.1").then_some(())?;
        words.find(|w| !w.starts_with("localhost") && !w.contains('.')).map(str::to_owned)
    })
}

fn succeeded(out: &std::process::Output) -> bool {
    out.status.success()
}

fn explain(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn containerd_pulls_with_the_hosts_regcred_writes_and_not_without() {
    let test = "containerd_pulls_with_the_hosts_regcred_writes_and_not_without";
    if !available(test, &["containerd", "ctr", "skopeo"]) {
        return;
    }
    let Some(pinned) = Registry::start(test) else { return };
    let Some(insecure) = Registry::start(test) else { return };
    let Some(plain) = Registry::start_plain_http(test) else { return };
    let t = TestEnv::new();
    push(&t, &pinned, "team/app:1");
    push(&t, &insecure, "team/app:1");
    push(&t, &plain, "team/app:1");
    let containerd = Containerd::start();
    let empty = t.root().join("no-hosts");
    fs::create_dir_all(&empty).unwrap();
    let hosts = t.root().join("certs.d");

    // A self-signed certificate, pinned: ca = "ca.crt".
    t.add_with(
        &[&pinned.address(), "-u", &pinned.username, "--ca-cert", pinned.cert().to_str().unwrap()],
        &pinned.password,
    );
    // An insecure registry that speaks TLS: skip_verify.
    t.add(&insecure.address(), &insecure.username, &insecure.password);
    t.run(&["tls", "set", &insecure.address(), "--insecure"]).ok();
    // A plain-HTTP registry, under a name that is not obviously loopback when there is one.
    let plain_host = loopback_alias().unwrap_or_else(|| "127.0.0.1".to_owned());
    let plain_address = format!("{plain_host}:{}", plain.port);
    t.add(&plain_address, &plain.username, &plain.password);
    t.run(&["tls", "set", &plain_address, "--insecure"]).ok();

    t.run(&["export", "containerd-hosts", "--dir", hosts.to_str().unwrap()]).ok();
    let pinned_dir = hosts.join(pinned.address());
    assert_eq!(
        fs::read_to_string(pinned_dir.join("ca.crt")).unwrap().trim(),
        fs::read_to_string(pinned.cert()).unwrap().trim()
    );
    let toml_text = fs::read_to_string(pinned_dir.join("hosts.toml")).unwrap();
    assert!(toml_text.contains("capabilities = [\"pull\", \"resolve\"]"), "{toml_text}");

    for (what, registry, address, negative) in [
        ("pinned self-signed", &pinned, pinned.address(), true),
        ("insecure over TLS", &insecure, insecure.address(), true),
        ("plain HTTP", &plain, plain_address.clone(), plain_host != "127.0.0.1"),
    ] {
        let image = format!("{address}/team/app:1");
        let without = containerd.pull(&empty, registry, &image);
        if negative {
            assert!(!succeeded(&without), "{what}: pulled without the hosts directory:\n{}", explain(&without));
        } else {
            eprintln!(
                "{what}: no loopback alias in /etc/hosts; containerd's loopback default (plain HTTP) makes the negative case moot"
            );
        }
        let with = containerd.pull(&hosts, registry, &image);
        assert!(
            succeeded(&with),
            "{what}: ctr pull with the hosts directory failed:\n{}\n{}",
            explain(&with),
            containerd.log()
        );
    }
}

#[test]
fn containerd_hosts_leaves_files_it_did_not_write_unless_forced() {
    let t = TestEnv::new();
    t.add("registry.lan:5000", "ci", "pw");
    t.run(&["tls", "set", "registry.lan:5000", "--insecure"]).ok();
    let hosts = t.root().join("certs.d");
    let dir = hosts.join("registry.lan:5000");
    fs::create_dir_all(&dir).unwrap();
    let theirs = "server = \"https://mirror.example.com\"\n";
    fs::write(dir.join("hosts.toml"), theirs).unwrap();
    let h = hosts.to_str().unwrap();
    t.run(&["export", "containerd-hosts", "--dir", h])
        .code(2)
        .stderr_has("regcred did not write it")
        .stderr_has("--force");
    assert_eq!(fs::read_to_string(dir.join("hosts.toml")).unwrap(), theirs);
    t.run(&["export", "containerd-hosts", "--dir", h, "--force"]).ok();
    let ours = fs::read_to_string(dir.join("hosts.toml")).unwrap();
    assert!(ours.contains("skip_verify = true") && ours.contains("[host.\"http://registry.lan:5000\"]"), "{ours}");
    // Its own file it replaces without --force.
    t.run(&["export", "containerd-hosts", "--dir", h]).ok();
    assert_eq!(fs::read_to_string(dir.join("hosts.toml")).unwrap(), ours);
}
