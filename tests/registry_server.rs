//! A real `docker-registry` (CNCF distribution) on a loopback port, with htpasswd auth and a
//! fresh self-signed certificate (or, for insecure-registry tests, plain HTTP), for tests
//! that need a registry to say yes or no.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Certificate {
    /// `openssl req -x509`: self-signed, CA:TRUE, as most private registries have.
    SelfSigned,
    /// A leaf (CA:FALSE) issued by a throwaway CA.
    FromPrivateCa,
    /// This certificate (PEM, the chain the server presents) and key.
    Given { cert: PathBuf, key: PathBuf },
    /// Plain HTTP.
    None,
}

/// How long the test certificates are valid: beyond the 30 days in which `tls show` and
/// `doctor` warn of a pinned certificate's end.
const DAYS: &str = "365";
/// How many ports to try when another process takes the one chosen before the registry
/// binds it.
const PORT_ATTEMPTS: usize = 5;

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

/// Whether the tools are installed; a missing one fails the test (which is `#[ignore]`d unless asked for).
pub fn available(test: &str, programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| !have(p)).collect();
    // A test that needs a tool is `#[ignore]`d unless asked for (scripts/test asks for all
    // of them): asked for, it fails without the tool rather than passing without a run.
    assert!(missing.is_empty(), "{test}: missing {missing:?} (scripts/test installs them)");
    true
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

    /// Starts a registry presenting `cert` (PEM, leaf first) with `key`.
    pub fn start_with_certificate(test: &str, cert: &Path, key: &Path) -> Option<Registry> {
        Self::launch(test, Certificate::Given { cert: cert.to_owned(), key: key.to_owned() })
    }

    fn launch(test: &str, certificate: Certificate) -> Option<Registry> {
        if !available(test, &["docker-registry", "htpasswd", "openssl"]) {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("regcred-registry-").tempdir().expect("temp dir");
        let d = dir.path();
        let path = |name: &str| d.join(name).display().to_string();
        if let Certificate::Given { cert, key } = &certificate {
            std::fs::copy(cert, d.join("cert.pem")).expect("copy the certificate");
            std::fs::copy(key, d.join("key.pem")).expect("copy the key");
        } else if certificate == Certificate::FromPrivateCa {
            run(Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", DAYS, "-subj", "/CN=regcred test CA"])
                .args(["-keyout", &path("ca-key.pem"), "-out", &path("ca.pem")]));
            run(Command::new("openssl")
                .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"])
                .args(["-keyout", &path("key.pem"), "-out", &path("cert.csr")]));
            std::fs::write(d.join("ext.cnf"), "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
                .expect("write ext.cnf");
            run(Command::new("openssl")
                .args(["x509", "-req", "-days", DAYS, "-in", &path("cert.csr"), "-CA", &path("ca.pem")])
                .args(["-CAkey", &path("ca-key.pem"), "-CAcreateserial", "-extfile", &path("ext.cnf")])
                .args(["-out", &path("cert.pem")]));
        } else {
            run(Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", DAYS, "-subj", "/CN=127.0.0.1"])
                .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
                .args(["-keyout", &path("key.pem"), "-out", &path("cert.pem")]));
        }
        let tls = certificate != Certificate::None;
        let username = "regcred-user".to_owned();
        let password = "s3cret-registry-pw".to_owned();
        run(Command::new("htpasswd").args(["-Bbc", &d.join("htpasswd").display().to_string(), &username, &password]));
        let tls = if tls {
            format!(
                "  tls:\n    certificate: {cert}\n    key: {key}\n",
                cert = d.join("cert.pem").display(),
                key = d.join("key.pem").display(),
            )
        } else {
            String::new()
        };
        for _ in 0..PORT_ATTEMPTS {
            if let Some((child, port)) = Self::serve(test, dir.path(), &tls) {
                return Some(Registry { child, dir, port, username, password });
            }
        }
        panic!("{test}: docker-registry could not bind a free port in {PORT_ATTEMPTS} attempts");
    }

    /// Starts docker-registry on a free port and waits until it listens there. None when
    /// it exits first because another process took the port between `free_port` and its
    /// bind (the caller tries another); any other early exit fails the test.
    fn serve(test: &str, d: &Path, tls: &str) -> Option<(Child, u16)> {
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: regcred-test\n{tls}\
             auth:\n  htpasswd:\n    realm: regcred-test\n    path: {htpasswd}\n",
            root = d.join("data").display(),
            htpasswd = d.join("htpasswd").display(),
        );
        std::fs::write(d.join("config.yml"), config).expect("write config");
        let log = std::fs::File::create(d.join("registry.log")).expect("log file");
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let read_log = || std::fs::read_to_string(d.join("registry.log")).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = read_log();
                if log.contains("address already in use") {
                    eprintln!("{test}: port {port} was taken before docker-registry bound it; trying another");
                    return None;
                }
                panic!("{test}: docker-registry exited ({status}) before listening on {port}: {log}");
            }
            // Listening, and still ours: a process that took the port would have made
            // docker-registry exit, which the check above sees first or the next poll does.
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && matches!(child.try_wait(), Ok(None)) {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{test}: docker-registry did not listen on {port}: {}", read_log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Some((child, port))
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
