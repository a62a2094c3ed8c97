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
    assert!(!t.secrets_file().exists());

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
fn a_plain_http_token_service_gets_no_password_unless_it_is_marked_insecure() {
    let tokens = TokenRegistry::start(None);
    let registry = TokenRegistry::start(Some(format!("http://{}/token", tokens.address())));
    let t = TestEnv::new();
    t.run(&["tls", "set", &registry.address(), "--insecure"]).ok();
    let id = t.add(&registry.address(), TOKEN_USER, TOKEN_PASSWORD).to_string();

    t.run(&["verify", &id]).code(1).stderr_has("plain HTTP").stderr_has(&tokens.address());
    assert!(tokens.token_requests().is_empty(), "no password went to the token service");

    t.run(&["tls", "set", &tokens.address(), "--insecure"]).ok();
    t.run(&["verify", &id]).ok();
    assert_eq!(tokens.token_requests().len(), 1);
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
