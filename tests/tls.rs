//! TLS settings, pinned certificates and `verify`: against the real `docker-registry` with
//! htpasswd and a self-signed certificate (and its plain-HTTP twin for insecure registries),
//! and against a small Bearer-token registry written here.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::registry_server::{Registry, available, free_port};
use crate::util::TestEnv;

/// `openssl x509 -fingerprint -sha256` of a PEM file: `AB:CD:…`.
fn openssl_fingerprint(pem: &std::path::Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem)
        .output()
        .expect("run openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().split_once('=').map(|(_, f)| f.to_owned()).unwrap_or_else(|| panic!("no fingerprint: {text}"))
}

fn tls_section(t: &TestEnv) -> String {
    std::fs::read_to_string(t.store_file()).unwrap_or_default()
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn an_untrusted_self_signed_certificate_fails_with_a_hint_to_pin_it() {
    let test = "an_untrusted_self_signed_certificate_fails_with_a_hint_to_pin_it";
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    t.add(&address, &registry.username, &registry.password);

    t.run(&["verify", &address])
        .code(1)
        .stderr_has(&format!("error: the TLS certificate of {address} is not trusted"))
        .stderr_has(&format!("regcred tls fetch {address}"))
        .stderr_has("--ca-cert");
    let run = t.run(&["verify", &address, "-o", "json"]).code(1);
    let json = run.json();
    assert_eq!(json["result"], "tls_error");
    assert_eq!(json["error"], "untrusted_certificate");
    assert_eq!(json["credential"]["username"], registry.username);

    // add --verify fails the same way and stores nothing.
    let before = t.snapshot();
    t.run_with_stdin(&["add", &address, "-u", "other", "--password-stdin", "--verify"], "pw\n")
        .code(1)
        .stderr_has("not trusted")
        .stderr_has("nothing was stored");
    assert_eq!(t.snapshot(), before);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn after_tls_fetch_verify_passes_and_a_wrong_password_is_rejected() {
    let test = "after_tls_fetch_verify_passes_and_a_wrong_password_is_rejected";
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    let id = t.add(&address, &registry.username, &registry.password);
    let fingerprint = openssl_fingerprint(&registry.cert());

    // Without a terminal and without --yes, fetch shows the chain and pins nothing.
    let before = t.snapshot();
    let run = t.run(&["tls", "fetch", &address, "-o", "table"]).code(4).stderr_has("--yes");
    assert!(run.stdout.contains(&fingerprint), "the fingerprint is shown:\n{}", run.stdout);
    assert!(run.stdout.contains("CN=127.0.0.1") && run.stdout.contains("self-signed"), "{}", run.stdout);
    assert_eq!(t.snapshot(), before);

    let run = t.run(&["tls", "fetch", &address, "--yes", "-o", "json"]).ok().stderr_has("Pinned");
    let chain = run.json();
    assert_eq!(chain[0]["sha256"], fingerprint);
    assert_eq!(chain[0]["subject"], "CN=127.0.0.1");
    assert!(chain[0]["not_after"].as_str().is_some_and(|t| t.ends_with('Z')));

    let run = t.run(&["verify", &address, "-o", "table"]).ok();
    assert!(run.stdout.contains("valid") && run.stdout.contains("Basic authentication"), "{}", run.stdout);
    let json = t.run(&["verify", &id.to_string(), "-o", "json"]).ok().json();
    assert_eq!(json["result"], "valid");
    assert_eq!(json["auth"], "basic");
    assert_eq!(json["transport"], "https");
    assert_eq!(json["tls"], "pinned");

    // An image: the credential a pull would use, and what the registry says of the manifest.
    let json = t.run(&["verify", &format!("{address}/team/app:1"), "-o", "json"]).ok().json();
    assert_eq!(json["image"], format!("{address}/team/app:1"));
    assert_eq!(json["credential"]["id"], id);
    assert_eq!(json["pull"], "not_found");

    // A newer credential with a wrong password is the one in use now: rejected, exit 5.
    let wrong = t.add(&address, &registry.username, "wrong-password");
    t.run(&["verify", &address])
        .code(5)
        .stderr_has(&format!("{address} rejected credential {wrong}"))
        .stderr_has("HTTP 401");
    let json = t.run(&["verify", &format!("{address}/team/app:1"), "-o", "json"]).code(5).json();
    assert_eq!(json["result"], "rejected");
    assert_eq!(json["credential"]["id"], wrong);
    // The older, right one still verifies when selected by id.
    t.run(&["verify", &id.to_string()]).ok();
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn add_and_edit_with_verify_store_nothing_the_registry_rejects() {
    let test = "add_and_edit_with_verify_store_nothing_the_registry_rejects";
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    let cert = registry.cert();
    let cert = cert.to_str().unwrap();

    // Rejected: neither the credential, nor its secret, nor the --ca-cert setting is stored.
    let before = t.snapshot();
    let run = t
        .run_with_stdin(
            &["add", &address, "-u", &registry.username, "--ca-cert", cert, "--verify", "--password-stdin"],
            "wrong-password\n",
        )
        .code(5)
        .stderr_has("rejected")
        .stderr_has("nothing was stored");
    assert!(run.stdout.is_empty(), "no id printed: {}", run.stdout);
    assert_eq!(t.snapshot(), before);
    assert!(!t.secrets_file().exists() && !t.secrets_dir().exists());

    // Accepted: both are stored.
    let run = t
        .run_with_stdin(
            &["add", &address, "-u", &registry.username, "--ca-cert", cert, "--verify", "--password-stdin"],
            &format!("{}\n", registry.password),
        )
        .ok()
        .stderr_has("Verified");
    let id = run.stdout.trim().to_owned();
    assert!(tls_section(&t).contains("[[tls]]"));

    // edit --verify with a wrong password changes nothing; with the right one it updates.
    let before = t.snapshot();
    t.run_with_stdin(
        &["edit", &id, "-u", "someone-else", "--verify", "--password-stdin"],
        &format!("{}\n", registry.password),
    )
    .code(5)
    .stderr_has("nothing was changed");
    t.run_with_stdin(&["edit", &id, "--email", "a@example.com", "--verify", "--password-stdin"], "wrong\n").code(5);
    assert_eq!(t.snapshot(), before);
    t.run_with_stdin(
        &["edit", &id, "--email", "a@example.com", "--verify", "--password-stdin"],
        &format!("{}\n", registry.password),
    )
    .ok();
    let shown = t.run(&["resolve", &format!("{address}/x"), "--show-secret", "-o", "json"]).ok();
    assert_eq!(shown.json_lines()[0]["credential"]["password"], registry.password);
    assert_eq!(shown.json_lines()[0]["credential"]["email"], "a@example.com");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn insecure_registries_work_without_pinning_over_https_and_plain_http() {
    let test = "insecure_registries_work_without_pinning_over_https_and_plain_http";
    let Some(tls_registry) = Registry::start(test) else { return };
    let Some(http_registry) = Registry::start_plain_http(test) else { return };
    let t = TestEnv::new();

    // HTTPS, certificate unchecked.
    let address = tls_registry.address();
    t.add(&address, &tls_registry.username, &tls_registry.password);
    t.run(&["tls", "set", &address, "--insecure"]).ok().stderr_has("insecure");
    let json = t.run(&["verify", &address, "-o", "json"]).ok().json();
    assert_eq!(json["result"], "valid");
    assert_eq!(json["transport"], "https_unverified");
    assert_eq!(json["tls"], "insecure");
    assert!(!tls_section(&t).contains("BEGIN CERTIFICATE"), "nothing was pinned");

    // Plain HTTP: refused as not TLS until marked insecure, then reached over HTTP.
    let address = http_registry.address();
    t.run_with_stdin(&["add", &address, "-u", &http_registry.username, "--verify", "--password-stdin"], "pw\n")
        .code(1)
        .stderr_has("does not speak TLS")
        .stderr_has(&format!("regcred tls set {address} --insecure"));
    t.run_with_stdin(
        &["add", &address, "-u", &http_registry.username, "--insecure", "--verify", "--password-stdin"],
        &format!("{}\n", http_registry.password),
    )
    .ok()
    .stderr_has("plain HTTP");
    let json = t.run(&["verify", &address, "-o", "json"]).ok().json();
    assert_eq!(json["transport"], "http");
    assert_eq!(json["url"], format!("http://{address}/v2/"));
    t.run_with_stdin(&["add", &address, "-u", &http_registry.username, "--verify", "--password-stdin"], "wrong\n")
        .code(5);

    // The host configuration docker and the containers tools need for the same.
    let mut expected = [tls_registry.address(), http_registry.address()];
    expected.sort();
    let daemon = t.run(&["export", "docker-daemon"]).ok().json();
    assert_eq!(daemon, serde_json::json!({ "insecure-registries": expected }));
    let conf = t.run(&["export", "registries-conf"]).ok().stdout;
    for address in &expected {
        assert!(conf.contains(&format!("[[registry]]\nlocation = \"{address}\"\ninsecure = true\n")), "{conf}");
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn tls_install_writes_the_server_certificate_byte_for_byte() {
    let test = "tls_install_writes_the_server_certificate_byte_for_byte";
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    let server_cert = std::fs::read(registry.cert()).unwrap();

    // Pinned with fetch: the PEM regcred writes is the PEM openssl wrote.
    t.run(&["tls", "fetch", &address, "--yes"]).ok();
    let certs_d = t.root().join("certs.d");
    t.run(&["tls", "install", "--certs-dir", certs_d.to_str().unwrap()]).ok().stderr_has("Wrote");
    let installed = certs_d.join(&address).join("ca.crt");
    assert_eq!(std::fs::read(&installed).unwrap(), server_cert);
    assert_eq!(std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777, 0o644);
    assert_eq!(std::fs::metadata(certs_d.join(&address)).unwrap().permissions().mode() & 0o777, 0o755);

    // Configured with --ca-cert, in another environment: the same bytes.
    t.run(&["env", "create", "staging"]).ok();
    t.run(&["-e", "staging", "tls", "set", &address, "--ca-cert", registry.cert().to_str().unwrap()]).ok();
    let staging_d = t.root().join("staging-certs.d");
    t.run(&["-e", "staging", "tls", "install", "--certs-dir", staging_d.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(staging_d.join(&address).join("ca.crt")).unwrap(), server_cert);

    // A real client trusts the registry through the installed directory.
    if available(test, &["skopeo"]) {
        let auth = t.root().join("skopeo-auth.json");
        let out = std::process::Command::new("skopeo")
            .args(["login", "--authfile", auth.to_str().unwrap(), "--cert-dir"])
            .arg(certs_d.join(&address))
            .args(["-u", &registry.username, "--password-stdin", &address])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(format!("{}\n", registry.password).as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "skopeo login with the installed CA: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_private_ca_given_with_ca_cert_is_trusted_for_the_certificates_it_issues() {
    let test = "a_private_ca_given_with_ca_cert_is_trusted_for_the_certificates_it_issues";
    let Some(registry) = Registry::start_with_private_ca(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    let id = t.add(&address, &registry.username, &registry.password).to_string();
    t.run(&["verify", &id]).code(1).stderr_has("issued by a CA that is neither");

    // What fetch shows: the server's certificate and who issued it.
    let run = t.run(&["tls", "fetch", &address, "-o", "table"]).code(4);
    assert!(run.stdout.contains("issuer   CN=regcred test CA"), "{}", run.stdout);

    t.run(&["tls", "set", &address, "--ca-cert", registry.ca_cert().to_str().unwrap()])
        .ok()
        .stderr_has("regcred test CA");
    let json = t.run(&["verify", &id, "-o", "json"]).ok().json();
    assert_eq!(json["result"], "valid");
    assert_eq!(json["transport"], "https");

    // The same CA does not vouch for another server's self-signed certificate.
    let Some(other) = Registry::start(test) else { return };
    let other_id = t.add(&other.address(), &other.username, &other.password).to_string();
    t.run(&["tls", "set", &other.address(), "--ca-cert", registry.ca_cert().to_str().unwrap()]).ok();
    t.run(&["verify", &other_id]).code(1).stderr_has("not trusted");
}

#[test]
fn a_ca_file_must_hold_certificates_and_no_key() {
    let t = TestEnv::new();
    let key = t.root().join("key.pem");
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n").unwrap();
    let before = t.snapshot();
    t.run(&["tls", "set", "registry.lan:5000", "--ca-cert", key.to_str().unwrap()]).code(2).stderr_has("private key");
    let text = t.root().join("text.pem");
    std::fs::write(&text, "hello\n").unwrap();
    t.run(&["tls", "set", "registry.lan:5000", "--ca-cert", text.to_str().unwrap()])
        .code(2)
        .stderr_has("no certificate");
    t.run(&["tls", "set", "registry.lan:5000"]).code(2);
    t.run(&["tls", "set", "quay.io/myorg", "--insecure"]).code(2).stderr_has("quay.io");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn tls_settings_belong_to_their_environment() {
    let t = TestEnv::new();
    t.run(&["env", "create", "staging"]).ok();
    t.run(&["-e", "staging", "tls", "set", "Registry.LAN:5000", "--insecure"]).ok();
    let shown = t.run(&["-e", "staging", "tls", "show", "-o", "json"]).ok().json();
    assert_eq!(shown[0]["address"], "registry.lan:5000");
    assert_eq!(shown[0]["insecure"], true);
    assert_eq!(t.run(&["tls", "show", "-o", "json"]).ok().json(), serde_json::json!([]));
    t.run(&["tls", "show", "registry.lan:5000"]).code(2).stderr_has("no TLS setting");
    t.run(&["tls", "unset", "registry.lan:5000"]).code(2);
    assert_eq!(t.run(&["export", "docker-daemon"]).ok().json(), serde_json::json!({ "insecure-registries": [] }));

    t.run(&["env", "delete", "staging", "--yes"]).ok();
    assert!(!tls_section(&t).contains("[[tls]]"), "{}", tls_section(&t));
    t.run(&["tls", "set", "registry.lan:5000", "--insecure"]).ok();
    t.run(&["tls", "unset", "registry.lan:5000"]).ok();
    assert!(!tls_section(&t).contains("[[tls]]"));
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn docker_daemon_export_merges_into_an_existing_daemon_json() {
    let t = TestEnv::new();
    t.run(&["tls", "set", "10.0.0.7:5000", "--insecure"]).ok();
    t.run(&["tls", "set", "registry.lan:5000", "--insecure"]).ok();
    let existing = t.root().join("daemon.json");
    std::fs::write(&existing, r#"{"log-level": "warn", "insecure-registries": ["10.0.0.7:5000", "old.lan:5000"]}"#)
        .unwrap();
    let out = t.root().join("out").join("daemon.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    t.run(&["export", "docker-daemon", "--merge", existing.to_str().unwrap(), "--output-file", out.to_str().unwrap()])
        .ok();
    let merged: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        merged,
        serde_json::json!({
            "log-level": "warn",
            "insecure-registries": ["10.0.0.7:5000", "old.lan:5000", "registry.lan:5000"]
        })
    );
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o644);
    std::fs::write(&existing, "{ nope").unwrap();
    t.run(&["export", "docker-daemon", "--merge", existing.to_str().unwrap()]).code(2).stderr_has("line 1");
}

#[test]
fn an_unreachable_registry_says_the_connection_was_refused() {
    let t = TestEnv::new();
    let address = format!("127.0.0.1:{}", free_port());
    let id = t.add(&address, "bob", "pw");
    t.run(&["verify", &id.to_string()])
        .code(1)
        .stderr_has(&format!("error: {address} refused the connection"))
        .stderr_has("hint:");
    let json = t.run(&["verify", &address, "-o", "json"]).code(1).json();
    assert_eq!(json["result"], "unreachable");
    assert_eq!(json["error"], "connection_refused");
    t.run(&["verify", "quay.io/nobody/app"]).code(2).stderr_has("no active credential");
}

// ----------------------------------------------------------------------------------------
// A registry that wants Bearer tokens, and its token service.

const TOKEN_USER: &str = "robot";
const TOKEN_PASSWORD: &str = "token-pw";

/// A tiny HTTP/1.1 server on loopback (plain HTTP, one request per connection) playing a
/// registry with the token flow of the distribution spec: `/v2/` answers 401 with a Bearer
/// challenge, `/token` issues a token for the scope asked when Basic authentication is
/// right, and manifests of `team/app` exist for tokens scoped to pull it.
struct TokenRegistry {
    port: u16,
    /// The token requests it got, query decoded.
    token_requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenRegistry {
    /// With `realm`, its challenge sends clients to another token service.
    fn start(realm: Option<String>) -> TokenRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let realm = realm.unwrap_or_else(|| format!("http://127.0.0.1:{port}/token"));
        let token_requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (requests, stopping) = (token_requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: a test makes a few dozen requests at most.
            for stream in listener.incoming().take(500) {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve(stream, &realm, &requests);
                }
            }
        });
        TokenRegistry { port, token_requests, stop, thread: Some(thread) }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.token_requests.lock().unwrap().clone()
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    realm: &str,
    token_requests: &Mutex<Vec<HashMap<String, String>>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // A TLS ClientHello (record type 22): answer as Go's HTTP server does, so that a
    // client trying HTTPS first learns at once that this is plain HTTP.
    if stream.peek(&mut byte)? == 1 && byte[0] == 0x16 {
        stream.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")?;
        return Ok(());
    }
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (request_line.next().unwrap_or_default(), request_line.next().unwrap_or_default());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if let Some(length) = headers.get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        let mut body = vec![0u8; length.min(65536)];
        stream.read_exact(&mut body)?;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query: HashMap<String, String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    let authorization = headers.get("authorization").cloned().unwrap_or_default();
    let token = authorization.strip_prefix("Bearer token-for:").map(str::to_owned);
    let challenge = |scope: Option<&str>| {
        let scope = scope.map(|s| format!(",scope=\"{s}\"")).unwrap_or_default();
        format!("WWW-Authenticate: Bearer realm=\"{realm}\",service=\"fake-registry\"{scope}\r\n")
    };

    let (status, extra, body) = match (method, path) {
        ("GET", "/v2/") if token.is_some() => (200, String::new(), "{}".to_owned()),
        ("GET", "/v2/") => (401, challenge(None), r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_owned()),
        ("GET", "/token") => {
            token_requests.lock().unwrap().push(query.clone());
            let expected = format!("Basic {}", BASE64.encode(format!("{TOKEN_USER}:{TOKEN_PASSWORD}")));
            if authorization == expected {
                let scope = query.get("scope").cloned().unwrap_or_default();
                (200, String::new(), serde_json::json!({ "token": format!("token-for:{scope}") }).to_string())
            } else {
                let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}"#;
                (401, String::new(), body.to_owned())
            }
        }
        ("HEAD", p) if p.starts_with("/v2/") && p.contains("/manifests/") => {
            let repository = p.trim_start_matches("/v2/").split("/manifests/").next().unwrap_or_default();
            let scope = format!("repository:{repository}:pull");
            match token {
                Some(granted) if granted == scope && repository == "team/app" => (200, String::new(), String::new()),
                Some(granted) if granted == scope => (404, String::new(), String::new()),
                _ => (401, challenge(Some(&scope)), String::new()),
            }
        }
        _ => (404, String::new(), "{}".to_owned()),
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (decoded, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn the_bearer_token_flow_authenticates_at_the_token_service_with_a_pull_scope_for_an_image() {
    let server = TokenRegistry::start(None);
    let t = TestEnv::new();
    let address = server.address();
    t.run(&["tls", "set", &address, "--insecure"]).ok();
    let id = t.add(&address, TOKEN_USER, TOKEN_PASSWORD);

    let json = t.run(&["verify", &id.to_string(), "-o", "json"]).ok().json();
    assert_eq!(json["result"], "valid");
    assert_eq!(json["auth"], "bearer");
    assert_eq!(json["transport"], "http");
    assert_eq!(json["token_service"], format!("http://{address}/token"));
    let requests = server.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].get("service").map(String::as_str), Some("fake-registry"));
    assert_eq!(requests[0].get("account").map(String::as_str), Some(TOKEN_USER));
    assert_eq!(requests[0].get("scope"), None, "a credential alone asks for no scope");

    let run = t.run(&["verify", &format!("{address}/team/app:1"), "-o", "table"]).ok();
    assert!(run.stdout.contains("Bearer token from") && run.stdout.contains("may be pulled"), "{}", run.stdout);
    let requests = server.token_requests();
    assert_eq!(requests.last().unwrap().get("scope").map(String::as_str), Some("repository:team/app:pull"));
    let json = t.run(&["verify", &format!("{address}/team/missing"), "-o", "json"]).ok().json();
    assert_eq!(json["pull"], "not_found");

    // A wrong password: the token service refuses, its message is passed on, exit 5.
    let wrong = t.add(&address, TOKEN_USER, "wrong");
    t.run(&["verify", &wrong.to_string()])
        .code(5)
        .stderr_has("the token service")
        .stderr_has("incorrect username or password");
    let before = t.snapshot();
    t.run_with_stdin(&["add", &address, "-u", TOKEN_USER, "--verify", "--password-stdin"], "wrong\n").code(5);
    assert_eq!(t.snapshot(), before);
    t.run_with_stdin(
        &["add", &address, "-u", TOKEN_USER, "--verify", "--password-stdin"],
        &format!("{TOKEN_PASSWORD}\n"),
    )
    .ok();
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_plain_http_token_service_gets_no_password_unless_it_is_marked_insecure() {
    let tokens = TokenRegistry::start(None);
    let registry = TokenRegistry::start(Some(format!("http://{}/token", tokens.address())));
    let t = TestEnv::new();
    t.run(&["tls", "set", &registry.address(), "--insecure"]).ok();
    let id = t.add(&registry.address(), TOKEN_USER, TOKEN_PASSWORD).to_string();

    t.run(&["verify", &id]).code(1).stderr_has("plain HTTP").stderr_has(&tokens.address());
    assert!(tokens.token_requests().is_empty(), "no password went to the token service");

    t.run(&["tls", "set", &tokens.address(), "--insecure"]).ok();
    // The token service is another server than the registry: it got the password, and
    // verify and add --verify say so, naming it.
    let warning =
        format!("warning: the token service of {} is on another host, {}", registry.address(), tokens.address());
    t.run(&["verify", &id]).ok().stderr_has(&warning);
    assert_eq!(tokens.token_requests().len(), 1);
    t.run_with_stdin(
        &["add", &registry.address(), "-u", TOKEN_USER, "--verify", "--password-stdin"],
        &format!("{TOKEN_PASSWORD}\n"),
    )
    .ok()
    .stderr_has(&warning);
    // A token service on the registry's own address is not worth a warning.
    let own = TokenRegistry::start(None);
    t.run(&["tls", "set", &own.address(), "--insecure"]).ok();
    let own_id = t.add(&own.address(), TOKEN_USER, TOKEN_PASSWORD).to_string();
    let run = t.run(&["verify", &own_id]).ok();
    assert!(!run.stderr.contains("another host"), "{}", run.stderr);
}

#[test]
fn tls_settings_survive_every_other_write_to_the_store() {
    let t = TestEnv::new();
    t.run(&["tls", "set", "registry.lan:5000", "--insecure"]).ok();
    let id = t.add("registry.lan:5000", "ci", "pw");
    t.add("quay.io", "robot", "pw");
    t.run(&["deactivate", &id.to_string()]).ok();
    t.run(&["activate", &id.to_string()]).ok();
    t.run_with_stdin(&["edit", &id.to_string(), "-u", "ci2", "--password-stdin"], "pw2\n").ok();
    t.run(&["env", "create", "other"]).ok();
    t.run(&["delete", "quay.io", "--yes"]).ok();
    let shown = t.run(&["tls", "show", "-o", "json"]).ok().json();
    assert_eq!(shown[0]["address"], "registry.lan:5000", "{shown}");
    assert_eq!(shown[0]["insecure"], true);
    assert_eq!(t.resolve("registry.lan:5000/team/app"), Some(id), "resolve reads a store with TLS settings");
}

// ----------------------------------------------------------------------------------------
// Hostile servers: Python's http.server (with ssl for HTTPS) playing what docker-registry
// never does: redirects, certificates with forged names.

/// The server: `python3 -c SCRIPT MODE CERT KEY ARG` (CERT and KEY `-` for plain HTTP).
/// It prints its port, then one line per request (`REQUEST METHOD PATH auth|noauth`).
/// Modes: `ok` answers 200 to anything; `redirect` answers 307 to ARG + the path;
/// `redirect-after-auth` asks for Basic authentication, then redirects like `redirect`;
/// `moved` redirects `/v2/` to `/mirror/v2/` on itself, which wants the Basic header ARG.
/// It stops itself after two minutes, should the test not.
const PY_SERVER: &str = r#"
import http.server, ssl, sys, threading, os
mode, cert, key, arg = sys.argv[1:5]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def reply(self, status, headers=()):
        body = b"{}"
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True
    def do_GET(self):
        auth = self.headers.get("Authorization")
        print("REQUEST", self.command, self.path, "auth" if auth else "noauth", flush=True)
        basic = [("WWW-Authenticate", 'Basic realm="hostile"')]
        if mode == "ok":
            self.reply(200)
        elif mode == "redirect":
            self.reply(307, [("Location", arg + self.path)])
        elif mode == "redirect-after-auth":
            if auth:
                self.reply(307, [("Location", arg + self.path)])
            else:
                self.reply(401, basic)
        elif mode == "moved":
            if self.path == "/v2/":
                self.reply(308, [("Location", "/mirror/v2/")])
            elif self.path == "/mirror/v2/":
                self.reply(200 if auth == arg else 401, [] if auth == arg else basic)
            else:
                self.reply(404)
        else:
            self.reply(500)
    do_HEAD = do_GET
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if cert != "-":
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
threading.Timer(120, lambda: os._exit(0)).start()
server.serve_forever()
"#;

struct PyServer {
    child: std::process::Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl PyServer {
    /// Starts the server, or None (skipped) without python3.
    fn start(test: &str, mode: &str, tls: Option<(&std::path::Path, &std::path::Path)>, arg: &str) -> Option<PyServer> {
        use std::io::BufRead;
        if !available(test, &["python3"]) {
            return None;
        }
        let (cert, key) =
            tls.map_or(("-".to_owned(), "-".to_owned()), |(c, k)| (c.display().to_string(), k.display().to_string()));
        let mut child = std::process::Command::new("python3")
            .args(["-c", PY_SERVER, mode, &cert, &key, arg])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start python3");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let collected = lines.clone();
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                match port_tx.take() {
                    Some(tx) => {
                        let _ = tx.send(line);
                    }
                    None => collected.lock().unwrap().push(line),
                }
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(10))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{test}: the python server printed no port"));
        Some(PyServer { child, port, lines })
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(args: &[&str]) {
    let out = std::process::Command::new("openssl").args(args).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed certificate for 127.0.0.1 with this subject (`/CN=…`, UTF-8, anything in
/// it): `(cert, key)` in `dir`.
fn self_signed(dir: &std::path::Path, name: &str, subject: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}-key.pem")));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "365",
        "-utf8",
        "-subj",
        subject,
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    (cert, key)
}

/// A CN that tries to print a line of its own with a fingerprint, then hide the rest (a
/// CN holds 64 characters at most, so the forged fingerprint is short).
const FORGED_FINGERPRINT: &str = "AA:BB:CC:DD:EE:FF:00:11";

/// No ESC byte, no carriage return, and no line that starts with the forged fingerprint.
#[track_caller]
fn assert_no_forgery(what: &str, text: &str) {
    assert!(!text.contains('\x1b'), "{what} holds an ESC byte:\n{text:?}");
    assert!(!text.contains('\r'), "{what} holds a carriage return:\n{text:?}");
    for line in text.lines() {
        let line = line.trim_start();
        assert!(
            !(line.starts_with("SHA-256") && line.contains(FORGED_FINGERPRINT)),
            "{what} has a forged line {line:?}:\n{text}"
        );
    }
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn certificate_names_cannot_forge_a_fingerprint_line_or_hide_the_prompt() {
    let test = "certificate_names_cannot_forge_a_fingerprint_line_or_hide_the_prompt";
    let t = TestEnv::new();
    let subject = format!("/CN=127.0.0.1\nSHA-256 {FORGED_FINGERPRINT}\r\x1b[8m");
    let (cert, key) = self_signed(t.root(), "hostile", &subject);
    let Some(server) = PyServer::start(test, "ok", Some((&cert, &key)), "-") else { return };
    let address = server.address();
    let real = openssl_fingerprint(&cert);

    // Shown, not pinned (no terminal, no --yes): table, plain and JSON.
    for format in ["table", "plain", "json"] {
        let run = t.run(&["tls", "fetch", &address, "-o", format]).code(4);
        assert_no_forgery(&format!("tls fetch -o {format}"), &format!("{}{}", run.stdout, run.stderr));
        assert!(run.stdout.contains(&real), "the real fingerprint is shown:\n{}", run.stdout);
        assert!(run.stdout.contains(r"\x1b[8m"), "the escape is shown escaped:\n{}", run.stdout);
    }
    let chain = t.run(&["tls", "fetch", &address, "-o", "json"]).code(4).json();
    let shown = chain[0]["subject"].as_str().unwrap();
    assert!(!shown.contains('\n') && !shown.contains('\x1b'), "{shown:?}");
    assert!(shown.starts_with(r"CN=127.0.0.1\nSHA-256 "), "{shown:?}");
    // In plain output the fingerprint is the first field and the line count is the chain's.
    let plain = t.run(&["tls", "fetch", &address, "-o", "plain"]).code(4).stdout;
    assert_eq!(plain.lines().count(), 1, "{plain}");
    assert_eq!(plain.split('\t').next(), Some(real.as_str()));

    // The "Trust …?" prompt on a real terminal: the real fingerprint, nothing concealed.
    if available(test, &["tmux"]) {
        let tmux = crate::util::Tmux::start(&t, 200, 40, "bash --norc --noprofile", &["PS1=$ "]);
        tmux.wait_for("$ ");
        tmux.line(&format!("regcred tls fetch {address} -o table"));
        let screen = tmux.wait_for("? [y/N]");
        let raw = tmux.screen(true);
        assert!(!raw.contains("\x1b[8m"), "the terminal was told to conceal text:\n{raw:?}");
        let prompt = screen.lines().find(|l| l.starts_with("Trust ")).expect("a prompt line");
        assert!(prompt.contains(&format!("(SHA-256 {real})")) && prompt.trim_end().ends_with("? [y/N]"), "{prompt}");
        assert_no_forgery("the terminal", &screen);
        tmux.line("n");
    }

    // Pinned anyway: tls show and the message of tls set --ca-cert.
    let run = t.run(&["tls", "fetch", &address, "--yes", "-o", "table"]).ok();
    assert_no_forgery("tls fetch --yes", &format!("{}{}", run.stdout, run.stderr));
    for format in ["table", "plain", "json"] {
        let run = t.run(&["tls", "show", "-o", format]).ok();
        assert_no_forgery(&format!("tls show -o {format}"), &format!("{}{}", run.stdout, run.stderr));
        let run = t.run(&["tls", "show", &address, "-o", format]).ok();
        assert_no_forgery(&format!("tls show ADDRESS -o {format}"), &format!("{}{}", run.stdout, run.stderr));
    }
    let run = t.run(&["tls", "set", "registry.lan:5000", "--ca-cert", cert.to_str().unwrap()]).ok();
    assert_no_forgery("tls set --ca-cert", &run.stderr);
    assert!(run.stderr.contains(&real), "{}", run.stderr);
}

/// An expired CA and its current twin (same key and name), and a current leaf for
/// 127.0.0.1 it issued: `(expired, current, leaf, leaf key)`.
fn ca_twins(dir: &std::path::Path) -> [std::path::PathBuf; 4] {
    let p = |name: &str| dir.join(name);
    let s = |name: &str| p(name).display().to_string();
    std::fs::write(
        p("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = twin\n[twin]\ndatabase = {db}\nnew_certs_dir = {dir}\nserial = {serial}\n\
             default_md = sha256\npolicy = any\nunique_subject = no\nemail_in_dn = no\n[any]\ncommonName = supplied\n\
             [ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\n",
            db = s("index.txt"),
            dir = dir.display(),
            serial = s("serial"),
        ),
    )
    .unwrap();
    std::fs::write(p("index.txt"), "").unwrap();
    std::fs::write(p("serial"), "01\n").unwrap();
    openssl(&["genrsa", "-out", &s("ca-key.pem"), "2048"]);
    openssl(&["req", "-new", "-key", &s("ca-key.pem"), "-subj", "/CN=regcred twin CA", "-out", &s("ca.csr")]);
    for (name, start, end) in
        [("expired.pem", "20200101000000Z", "20210101000000Z"), ("current.pem", "20200101000000Z", "20360101000000Z")]
    {
        openssl(&[
            "ca",
            "-batch",
            "-config",
            &s("ca.cnf"),
            "-selfsign",
            "-keyfile",
            &s("ca-key.pem"),
            "-in",
            &s("ca.csr"),
            "-startdate",
            start,
            "-enddate",
            end,
            "-extensions",
            "ext",
            "-notext",
            "-out",
            &s(name),
        ]);
    }
    std::fs::write(p("leaf.cnf"), "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &s("leaf-key.pem"),
        "-out",
        &s("leaf.csr"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-days",
        "365",
        "-in",
        &s("leaf.csr"),
        "-CA",
        &s("current.pem"),
        "-CAkey",
        &s("ca-key.pem"),
        "-set_serial",
        "7",
        "-extfile",
        &s("leaf.cnf"),
        "-out",
        &s("leaf.pem"),
    ]);
    [p("expired.pem"), p("current.pem"), p("leaf.pem"), p("leaf-key.pem")]
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn an_expired_ca_is_refused_when_given_and_no_longer_trusted_when_stored() {
    let test = "an_expired_ca_is_refused_when_given_and_no_longer_trusted_when_stored";
    let t = TestEnv::new();
    if !available(test, &["openssl"]) {
        return;
    }
    let [expired, current, leaf, leaf_key] = ca_twins(t.root());
    let Some(registry) = Registry::start_with_certificate(test, &leaf, &leaf_key) else { return };
    let address = registry.address();
    let id = t.add(&address, &registry.username, &registry.password).to_string();

    // Given: refused, nothing stored.
    let before = t.snapshot();
    t.run(&["tls", "set", &address, "--ca-cert", expired.to_str().unwrap()])
        .code(2)
        .stderr_has("expired on 2021-01-01")
        .stderr_has("CN=regcred twin CA");
    t.run_with_stdin(&["add", &address, "-u", "x", "--ca-cert", expired.to_str().unwrap(), "--password-stdin"], "pw\n")
        .code(2)
        .stderr_has("expired");
    assert_eq!(t.snapshot(), before);

    // The current twin vouches for the leaf.
    t.run(&["tls", "set", &address, "--ca-cert", current.to_str().unwrap()]).ok();
    t.run(&["verify", &id]).ok();
    t.run(&["doctor"]).ok();

    // Stored (a store written before, or a pin that has expired since): the same anchor
    // key and name, but expired: refused, and named.
    let store = std::fs::read_to_string(t.store_file()).unwrap();
    let pem = |path: &std::path::Path| std::fs::read_to_string(path).unwrap();
    assert!(store.contains(pem(&current).trim()), "the store holds the PEM as given");
    std::fs::write(t.store_file(), store.replace(pem(&current).trim(), pem(&expired).trim())).unwrap();
    t.run(&["verify", &id])
        .code(1)
        .stderr_has("not trusted: the CA certificate pinned for it (CN=regcred twin CA) expired on 2021-01-01");
    let json = t.run(&["verify", &id, "-o", "json"]).code(1).json();
    assert_eq!(json["result"], "tls_error");

    // tls show and doctor say so.
    t.run(&["tls", "show"]).ok().stderr_has("warning:").stderr_has("expired on 2021-01-01");
    let run = t.run(&["doctor", "-o", "json"]).code(1);
    assert!(run.stdout.contains("expired on 2021-01-01"), "{}", run.stdout);

    // tls fetch does not pin an expired certificate a server presents.
    let Some(server) = PyServer::start(test, "ok", Some((&expired, &t.root().join("ca-key.pem"))), "-") else {
        return;
    };
    let before = t.snapshot();
    t.run(&["tls", "fetch", &server.address(), "--yes"])
        .code(1)
        .stderr_has("valid only from 2020-01-01 to 2021-01-01: not pinned");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn tls_show_and_doctor_warn_of_a_pin_that_expires_within_30_days() {
    let t = TestEnv::new();
    let (cert, key) = (t.root().join("soon.pem"), t.root().join("soon-key.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "10",
        "-subj",
        "/CN=soon",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    t.run(&["tls", "set", "registry.lan:5000", "--ca-cert", cert.to_str().unwrap()]).ok();
    let run = t.run(&["tls", "show"]).ok().stderr_has("warning:");
    assert!(
        run.stderr.contains("expires in 9 day(s)") || run.stderr.contains("expires in 10 day(s)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("regcred -e default tls fetch registry.lan:5000"), "{}", run.stderr);
    let run = t.run(&["doctor"]).code(1);
    assert!(run.stdout.contains("registry.lan:5000") && run.stdout.contains("expires in"), "{}", run.stdout);
    // A pin valid for longer says nothing.
    t.run(&["tls", "unset", "registry.lan:5000"]).ok();
    let (cert, _) = self_signed(t.root(), "long", "/CN=long");
    t.run(&["tls", "set", "registry.lan:5000", "--ca-cert", cert.to_str().unwrap()]).ok();
    let run = t.run(&["tls", "show"]).ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    t.run(&["doctor"]).ok();
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn redirects_to_plain_http_or_another_server_are_refused_and_nothing_is_stored() {
    let test = "redirects_to_plain_http_or_another_server_are_refused_and_nothing_is_stored";
    let t = TestEnv::new();
    let (cert, key) = self_signed(t.root(), "server", "/CN=127.0.0.1");
    // The server redirected to: plain HTTP, answers 200 to anything.
    let Some(plain) = PyServer::start(test, "ok", None, "-") else { return };
    let target = format!("http://{}", plain.address());

    // A registry that asks for a password, then redirects the authenticated GET /v2/.
    let Some(after_auth) = PyServer::start(test, "redirect-after-auth", Some((&cert, &key)), &target) else { return };
    let address = after_auth.address();
    t.run(&["tls", "set", &address, "--ca-cert", cert.to_str().unwrap()]).ok();
    let id = t.add(&address, "bob", "pw").to_string();
    t.run(&["verify", &id])
        .code(1)
        .stderr_has(&format!("with a redirect to {target}/v2/ (from HTTPS to plain HTTP)"))
        .stderr_has("same scheme, host and port");
    let json = t.run(&["verify", &id, "-o", "json"]).code(1).json();
    assert_eq!(json["result"], "protocol_error");
    assert_eq!(json["transport"], serde_json::Value::Null, "no transport is claimed: {json}");

    // A registry that redirects its first answer: add --verify stores nothing.
    let Some(first) = PyServer::start(test, "redirect", Some((&cert, &key)), &target) else { return };
    let address = first.address();
    t.run(&["tls", "set", &address, "--ca-cert", cert.to_str().unwrap()]).ok();
    let before = t.snapshot();
    t.run_with_stdin(&["add", &address, "-u", "bob", "--verify", "--password-stdin"], "wrong\n")
        .code(1)
        .stderr_has("redirect")
        .stderr_has("nothing was stored");
    assert_eq!(t.snapshot(), before);

    // An HTTPS redirect to another port of the same host is another server, too.
    let Some(other_https) = PyServer::start(test, "ok", Some((&cert, &key)), "-") else { return };
    let Some(cross) =
        PyServer::start(test, "redirect", Some((&cert, &key)), &format!("https://{}", other_https.address()))
    else {
        return;
    };
    t.run(&["tls", "set", &cross.address(), "--ca-cert", cert.to_str().unwrap()]).ok();
    let id = t.add(&cross.address(), "bob", "pw").to_string();
    t.run(&["verify", &id]).code(1).stderr_has(&format!("redirect to https://{}/v2/", other_https.address()));

    assert!(plain.requests().is_empty(), "the plain-HTTP server was never asked: {:?}", plain.requests());
    assert!(other_https.requests().is_empty(), "the other server was never asked: {:?}", other_https.requests());
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn redirects_within_the_registry_are_followed_and_the_url_that_answered_is_reported() {
    let test = "redirects_within_the_registry_are_followed_and_the_url_that_answered_is_reported";
    let t = TestEnv::new();
    let (cert, key) = self_signed(t.root(), "server", "/CN=127.0.0.1");
    let header = format!("Basic {}", BASE64.encode("bob:right"));
    let Some(server) = PyServer::start(test, "moved", Some((&cert, &key)), &header) else { return };
    let address = server.address();
    t.run(&["tls", "set", &address, "--ca-cert", cert.to_str().unwrap()]).ok();
    let id = t.add(&address, "bob", "right").to_string();
    let json = t.run(&["verify", &id, "-o", "json"]).ok().json();
    assert_eq!(json["result"], "valid");
    assert_eq!(json["url"], format!("https://{address}/mirror/v2/"));
    assert_eq!(json["transport"], "https");
    let wrong = t.add(&address, "bob", "wrong").to_string();
    t.run(&["verify", &wrong]).code(5);
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_tls_setting_in_another_environment_is_named_when_verification_fails() {
    let test = "a_tls_setting_in_another_environment_is_named_when_verification_fails";
    let Some(registry) = Registry::start(test) else { return };
    let t = TestEnv::new();
    let address = registry.address();
    t.run(&["env", "create", "staging"]).ok();
    t.run(&["-e", "staging", "tls", "fetch", &address, "--yes"]).ok();
    let id = t.add(&address, &registry.username, &registry.password).to_string();
    t.run(&["verify", &id])
        .code(1)
        .stderr_has("not trusted")
        .stderr_has(&format!("hint: environment staging has a TLS setting for {address}, environment default has none"))
        .stderr_has("-e staging");
    t.run_with_stdin(&["add", &address, "-u", "x", "--verify", "--password-stdin"], "pw\n")
        .code(1)
        .stderr_has("environment staging has a TLS setting");
    t.run(&["tls", "show", &address]).code(2).stderr_has("environment staging has one");
    // Without one elsewhere, the usual hint.
    t.run(&["-e", "staging", "tls", "unset", &address]).ok();
    let run = t.run(&["verify", &id]).code(1);
    assert!(!run.stderr.contains("staging"), "{}", run.stderr);
}
