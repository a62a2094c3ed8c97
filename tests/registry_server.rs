//! A real `docker-registry` (CNCF distribution) on a loopback port, with htpasswd auth and a
//! fresh self-signed certificate (or, for insecure-registry tests, plain HTTP), for tests
//! that need a registry to say yes or no.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Certificate {
    /// `openssl req -x509`: self-signed, CA:TRUE, as most private registries have.
    SelfSigned,
    /// A leaf (CA:FALSE) issued by a throwaway CA.
    FromPrivateCa,
    /// Plain HTTP.
    None,
}

/// A running registry; stopped and removed when dropped.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    pub username: String,
    pub password: String,
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the tools are installed; under `REGCRED_TEST_STRICT=1` missing ones fail the test.
pub fn available(test: &str, programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| !have(p)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("REGCRED_TEST_STRICT").as_deref() == Ok("1") {
        panic!("{test}: missing {missing:?}, and REGCRED_TEST_STRICT=1 (scripts/test installs them)");
    }
    eprintln!("skipped: {test}: missing {missing:?} (run under scripts/test)");
    false
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

impl Registry {
    /// Starts a registry, or returns None (skipped) when the tools are missing.
    pub fn start(test: &str) -> Option<Registry> {
        Self::launch(test, Certificate::SelfSigned)
    }

    /// Starts a registry that speaks plain HTTP (what docker calls an insecure registry).
    pub fn start_plain_http(test: &str) -> Option<Registry> {
        Self::launch(test, Certificate::None)
    }

    /// Starts a registry whose certificate a private CA issued ([`Registry::ca_cert`]).
    pub fn start_with_private_ca(test: &str) -> Option<Registry> {
        Self::launch(test, Certificate::FromPrivateCa)
    }

    fn launch(test: &str, certificate: Certificate) -> Option<Registry> {
        if !available(test, &["docker-registry", "htpasswd", "openssl"]) {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("regcred-registry-").tempdir().expect("temp dir");
        let d = dir.path();
        let path = |name: &str| d.join(name).display().to_string();
        if certificate == Certificate::FromPrivateCa {
            run(Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=regcred test CA"])
                .args(["-keyout", &path("ca-key.pem"), "-out", &path("ca.pem")]));
            run(Command::new("openssl")
                .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"])
                .args(["-keyout", &path("key.pem"), "-out", &path("cert.csr")]));
            std::fs::write(d.join("ext.cnf"), "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
                .expect("write ext.cnf");
            run(Command::new("openssl")
                .args(["x509", "-req", "-days", "2", "-in", &path("cert.csr"), "-CA", &path("ca.pem")])
                .args(["-CAkey", &path("ca-key.pem"), "-CAcreateserial", "-extfile", &path("ext.cnf")])
                .args(["-out", &path("cert.pem")]));
        } else {
            run(Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
                .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
                .args(["-keyout", &path("key.pem"), "-out", &path("cert.pem")]));
        }
        let tls = certificate != Certificate::None;
        let username = "regcred-user".to_owned();
        let password = "s3cret-registry-pw".to_owned();
        run(Command::new("htpasswd").args(["-Bbc", &d.join("htpasswd").display().to_string(), &username, &password]));
        let port = free_port();
        let tls = if tls {
            format!(
                "  tls:\n    certificate: {cert}\n    key: {key}\n",
                cert = d.join("cert.pem").display(),
                key = d.join("key.pem").display(),
            )
        } else {
            String::new()
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: regcred-test\n{tls}\
             auth:\n  htpasswd:\n    realm: regcred-test\n    path: {htpasswd}\n",
            root = d.join("data").display(),
            htpasswd = d.join("htpasswd").display(),
        );
        std::fs::write(d.join("config.yml"), config).expect("write config");
        let log = std::fs::File::create(d.join("registry.log")).expect("log file");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, dir, port, username, password };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen on {port}: {}", registry.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The private CA of [`Registry::start_with_private_ca`].
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A minimal OCI image layout (one empty layer) in `dir`, for pushing with skopeo.
pub fn write_oci_layout(dir: &Path) -> PathBuf {
    use std::io::Write;
    let layout = dir.join("oci-image");
    let blobs = layout.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    // An empty tar archive (two zero blocks) is a valid, empty layer.
    let layer = vec![0u8; 1024];
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"]},"config":{}}"#.to_vec();
    let put = |bytes: &[u8]| -> (String, usize) {
        let out = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut out = out;
        out.stdin.take().unwrap().write_all(bytes).unwrap();
        let text = String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap();
        let digest = text.split_whitespace().next().unwrap().to_owned();
        std::fs::write(blobs.join(&digest), bytes).unwrap();
        (digest, bytes.len())
    };
    let (layer_digest, layer_size) = put(&layer);
    let (config_digest, config_size) = put(&config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{layer_digest}","size":{layer_size}}}]}}"#
    );
    let (manifest_digest, manifest_size) = put(manifest.as_bytes());
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        layout.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest_digest}","size":{manifest_size},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#
        ),
    )
    .unwrap();
    layout
}
