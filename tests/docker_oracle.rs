//! The docker CLI as the oracle for image references: a few hundred generated references
//! go through `docker manifest inspect` and `regcred resolve`, and the two must agree on
//! which are references and which registry host each names (PRODUCT.md §2 rule 9).
//!
//! docker parses a reference before it touches the network and refuses a bad one at once
//! ("invalid reference format", "must be lowercase", …); a good one makes it ping the
//! registry's `/v2/`, and the URL in its error names the host it parsed. docker runs in an
//! empty network namespace where the machine allows one, and every proxy variable points at
//! a closed loopback port, so nothing leaves the machine.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::util::{TestEnv, regcred_bin, tool_available};

/// How many references one run checks (`REGCRED_ORACLE_COUNT` for a longer hunt; with
/// `REGCRED_ORACLE_SEED` for other mutations).
const COUNT: usize = 400;
/// docker processes at a time (the machine may have two cores shared with other work).
const THREADS: usize = 4;

/// A small deterministic generator (xorshift64*), so a failure names a seed that repeats it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn hex(n: usize) -> String {
    "0123456789abcdef".chars().cycle().take(n).collect()
}

/// Valid references of every shape, to mutate.
fn seeds() -> Vec<String> {
    let d = format!("sha256:{}", hex(64));
    let mut seeds: Vec<String> = [
        "nginx",
        "nginx:1.25",
        "bob/app:1",
        "library/nginx",
        "docker.io/library/nginx:latest",
        "docker.io/nginx",
        "index.docker.io/bob/app",
        "registry-1.docker.io/bob/app",
        "quay.io/org/app:v1",
        "ghcr.io/acme/team/app:2.0",
        "localhost/app",
        "localhost:5000/app:v2",
        "10.0.0.7:5000/a/b",
        "[fd00::1]:5000/team/app:x",
        "[::1]/a",
        "example.com/a__b/c--d/e.f_g:T_1.-x",
        "Example.COM/app",
        "a/b/c/d/e",
        "1/2",
        "localhost:5000",
        "foo.com",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    seeds.push(format!("registry.example.com:5000/team/app@{d}"));
    seeds.push(format!("quay.io/org/app:v1@{d}"));
    seeds.push(format!("nginx@sha512:{}", hex(128)));
    seeds
}

/// One random edit of `s`: insert, delete or replace a character, double a separator,
/// change the case of a letter.
fn mutate(rng: &mut Rng, s: &str) -> String {
    const ALPHABET: &[&str] =
        &["a", "Z", "0", "9", ".", "_", "__", "-", ":", "/", "@", "[", "]", "%", "~", "+", "é", ":0", ":05000", "//"];
    let mut chars: Vec<char> = s.chars().collect();
    let at = rng.below(chars.len() + 1);
    match rng.below(5) {
        0 => {
            let insert: Vec<char> = rng.pick(ALPHABET).chars().collect();
            chars.splice(at..at, insert);
        }
        1 if at < chars.len() => {
            chars.remove(at);
        }
        2 if at < chars.len() => {
            let with: Vec<char> = rng.pick(ALPHABET).chars().collect();
            chars.splice(at..=at, with);
        }
        3 => {
            if let Some(i) = chars.iter().position(|c| matches!(c, '.' | '_' | '-' | '/' | ':')) {
                let c = chars[i];
                chars.insert(i, c);
            }
        }
        _ => {
            if let Some(c) = chars.get_mut(at) {
                *c = if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
            }
        }
    }
    chars.into_iter().collect()
}

/// A path of `n` characters in `parts` components.
fn path_of(n: usize, parts: usize) -> String {
    let mut path = String::new();
    for i in 0..parts {
        if i > 0 {
            path.push('/');
        }
        let left = n - path.len();
        let take = if i + 1 == parts { left } else { (left - (parts - 1 - i) * 2) / (parts - i) };
        path.push_str(&"a".repeat(take));
    }
    path
}

/// References at the length limits: 255 characters of path (with and without a host,
/// `library/` included), 128 of tag.
fn length_pushes() -> Vec<String> {
    let long_host = format!("{}.example.com", "h".repeat(60));
    let mut refs = Vec::new();
    for n in [254, 255, 256] {
        for host in ["example.com/", "localhost:5000/", "[fd00::1]:5000/", ""] {
            refs.push(format!("{host}{}:tag", path_of(n, 1)));
            refs.push(format!("{host}{}", path_of(n, 3)));
        }
        refs.push(format!("{long_host}/{}", path_of(n, 2)));
        refs.push(format!("docker.io/{}", path_of(n - 8, 1)));
        refs.push(format!("index.docker.io/{}", path_of(n, 2)));
        refs.push(path_of(n - 8, 1));
    }
    for n in [127, 128, 129] {
        refs.push(format!("nginx:{}", "t".repeat(n)));
        refs.push(format!("example.com/a:_{}", "T".repeat(n - 1)));
        refs.push(format!("{}:1", path_of(n, 2)));
    }
    refs
}

/// Hosts docker may or may not take, each in front of a few paths.
fn odd_hosts() -> Vec<String> {
    let hosts = [
        "a_b.com",
        "-a.com",
        "a-.com",
        "a..com",
        ".a.com",
        "a.com.",
        "A.COM",
        "LOCALHOST",
        "LocalHost",
        "localhost:0",
        "localhost:00",
        "localhost:65535",
        "localhost:65536",
        "localhost:99999",
        "a.com:00080",
        "a.com:",
        "a.com:x",
        "a.com:-1",
        "[::1]",
        "[::1]:0",
        "[::]",
        "[::::]",
        "[fd00::1%eth0]",
        "[1.2.3.4]",
        "[zz]",
        "[::1",
        "[::1]x",
        "fd00::1",
        "1.2.3.4",
        "999.999.999.999",
        "xn--bcher-kva.example",
        "a.b.c.d.e.f",
        "Foo",
        "foo:bar",
        "a.0",
        "[::ffff:1.2.3.4]",
        "[FD00::1]",
        "[fd00:0:0:0:0:0:0:1]:5000",
        "Docker.io",
        "INDEX.docker.io",
        "index.docker.io:443",
        "docker.io:443",
        "registry-1.docker.io",
        "0",
        "a",
        "a__b.io",
        "a.b_c",
    ];
    let mut refs = Vec::new();
    for host in hosts {
        refs.push(format!("{host}/app"));
        refs.push(format!("{host}/team/app:1"));
    }
    refs.push("a_b.com".to_owned());
    refs
}

fn digests() -> Vec<String> {
    let mut refs = Vec::new();
    for (algorithm, n) in [("sha256", 64), ("sha256", 63), ("sha256", 65), ("sha384", 96), ("sha512", 128)] {
        refs.push(format!("nginx@{algorithm}:{}", hex(n)));
    }
    for digest in [
        format!("sha256:{}", hex(64).to_uppercase()),
        format!("SHA256:{}", hex(64)),
        format!("sha1:{}", hex(40)),
        format!("sha256+b64:{}", hex(64)),
        format!("md5:{}", hex(32)),
        format!("sha256:{}", hex(32)),
        "sha256:".to_owned(),
        ":abc".to_owned(),
    ] {
        refs.push(format!("quay.io/org/app@{digest}"));
    }
    refs.push(format!("nginx:1@sha256:{}", hex(64)));
    refs.push(format!("nginx:1@sha256:{}@x", hex(64)));
    refs.push(hex(64));
    refs.push(format!("{}:1", hex(64)));
    refs.push(format!("bob/{}", hex(64)));
    refs.push(hex(63));
    refs
}

/// The references one run checks: the fixed pushes, then random mutations of the seeds (one
/// to three edits each) up to `COUNT`.
fn generate(seed: u64, count: usize) -> Vec<String> {
    let mut refs = Vec::new();
    refs.extend(seeds());
    refs.extend(length_pushes());
    refs.extend(odd_hosts());
    refs.extend(digests());
    let seeds = seeds();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    while refs.len() < count {
        let mut r = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(3) {
            r = mutate(&mut rng, &r);
        }
        // A reference is one argument; white space and control characters cannot reach
        // regcred and docker alike through argv and are tested elsewhere.
        if !r.is_empty() && !r.chars().any(char::is_control) && !refs.contains(&r) {
            refs.push(r);
        }
    }
    refs
}

/// What docker made of a reference.
#[derive(Debug)]
enum Docker {
    /// It parsed it and tried `/v2/` on this host (empty when docker found no host).
    Accepted { host: String },
    /// It refused it with this message.
    Refused(String),
}

/// The command that runs docker in a network namespace of its own with nothing in it (not
/// even an enabled loopback), when the machine allows one: docker resolves every registry
/// host name before it dials (to check it against its insecure-registry ranges), and that
/// lookup must not leave the machine or wait for a resolver either. Without one, the
/// proxies alone keep the requests on loopback.
fn isolation() -> Vec<&'static str> {
    for prefix in [&["unshare", "-n", "--"][..], &["unshare", "-r", "-n", "--"][..]] {
        let works = Command::new(prefix[0])
            .args(&prefix[1..])
            .arg("true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            return prefix.to_vec();
        }
    }
    eprintln!("note: no network namespace available; docker runs with closed proxies only");
    Vec::new()
}

fn docker_verdict(reference: &str, isolation: &[&str], config: &Path, proxy: &str) -> Docker {
    let output = Command::new("timeout")
        .arg("20")
        .args(isolation)
        .args(["docker", "manifest", "inspect", "--", reference])
        .env("DOCKER_CONFIG", config)
        .env("HOME", config)
        .env_remove("DOCKER_HOST")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env("HTTPS_PROXY", proxy)
        .env("HTTP_PROXY", proxy)
        .env("https_proxy", proxy)
        .env("http_proxy", proxy)
        .env("NO_PROXY", "")
        .env("no_proxy", "")
        .stdin(Stdio::null())
        .output()
        .expect("run docker");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    // The first URL docker tried names the registry host it parsed: `https://HOST/v2/`, or
    // `https:/v2/` when it found none.
    if let Some(at) = text.find("Get \"") {
        let url = text[at + 5..].split('"').next().unwrap_or("");
        let rest = url.strip_prefix("https:").or_else(|| url.strip_prefix("http:")).unwrap_or(url);
        let host = rest.strip_prefix("//").map_or("", |rest| rest.split('/').next().unwrap_or(""));
        return Docker::Accepted { host: host.to_owned() };
    }
    let refused = [
        "invalid reference format",
        "repository name must",
        "invalid repository name",
        "must be lowercase",
        "invalid checksum digest",
        "unsupported digest algorithm",
    ];
    if refused.iter().any(|r| text.contains(r)) {
        return Docker::Refused(text.trim().to_owned());
    }
    panic!("docker gave an answer this test cannot classify for {reference:?} (status {:?}):\n{text}", output.status);
}

/// The registry regcred names for a reference, or its error message.
type Regcred = Result<String, String>;

/// What regcred made of a reference: the registry it names, or its error message.
fn regcred_verdict(t: &TestEnv, reference: &str) -> Regcred {
    let run = t.run(&["resolve", "-o", "json", "--", reference]);
    match run.code {
        0 | 3 => {
            let registry = run.json_lines()[0]["reference"]["registry"].as_str().map(str::to_owned);
            Ok(registry.unwrap_or_else(|| panic!("resolve {reference:?} printed no registry:\n{}", run.stdout)))
        }
        // A bad reference is an error object in the JSON Lines (the batch goes on).
        2 => {
            let line = run.json_lines().into_iter().next();
            let error = line.as_ref().and_then(|l| l["error"].as_str()).map(str::to_owned);
            Err(error
                .unwrap_or_else(|| panic!("resolve {reference:?}: no error object:\n{}{}", run.stdout, run.stderr)))
        }
        code => panic!("resolve {reference:?} exited {code}:\n{}{}", run.stdout, run.stderr),
    }
}

/// A case name, whether it applies to the host docker would dial, and what regcred's
/// message must say.
type Stricter = (&'static str, fn(&str) -> bool, &'static str);

/// Where regcred is stricter than docker by design: docker parses the reference but could
/// never reach its host. Each names the host docker would dial (as its error shows it) and
/// what regcred's message must say. Anything else docker accepts, regcred must accept.
const STRICTER: &[Stricter] = &[
    ("port 0", |host| port_of(host).is_some_and(|p| p.bytes().all(|b| b == b'0')), "out of range (1-65535)"),
    (
        "port above 65535",
        |host| port_of(host).is_some_and(|p| p.parse::<u64>().map_or(true, |p| p > 65535)),
        "out of range (1-65535)",
    ),
    (
        "brackets around something that is not an IPv6 address",
        |host| {
            host.strip_prefix('[')
                .and_then(|h| h.split_once(']'))
                .is_some_and(|(inner, _)| inner.parse::<std::net::Ipv6Addr>().is_err())
        },
        "is not a valid IPv6 address",
    ),
    // docker's grammar reads an invalid host such as `a_b.com` as part of the path, then
    // finds no host at all in `a_b.com/app` (its request goes to `https:/v2/`).
    ("no host", str::is_empty, "invalid registry"),
];

fn port_of(host: &str) -> Option<&str> {
    let after = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map(|(_, after)| after)?,
        None => host,
    };
    after.rsplit_once(':').map(|(_, port)| port)
}

/// A reference or message short enough to read in a list: long runs are cut, with the length.
fn short(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= 100 {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(60).collect();
    let tail: String = text.chars().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head:?}…{tail:?} ({} characters)", text.chars().count())
}

/// The host docker dials for a registry as regcred names it.
fn dialed(registry: &str) -> &str {
    if registry == "docker.io" { "registry-1.docker.io" } else { registry }
}

/// Whether the docker CLI is 24 or later, the first with `distribution/reference` v0.6 and
/// so the rules regcred follows (an older one counts the host towards the 255 characters).
/// An older one fails the test (which is `#[ignore]`d unless asked for).
fn docker_is_recent(test: &str) -> bool {
    let output = Command::new("docker").args(["version", "--format", "{{.Client.Version}}"]).output();
    let version = output.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default();
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major >= 24 {
        return true;
    }
    panic!("{test}: docker {version:?} is older than 24, whose reference rules regcred follows");
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn docker_and_regcred_agree_on_references() {
    let test = "docker_and_regcred_agree_on_references";
    if !tool_available(test, "docker") || !tool_available(test, "timeout") || !docker_is_recent(test) {
        return;
    }
    let seed = std::env::var("REGCRED_ORACLE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_cafe);
    let count = std::env::var("REGCRED_ORACLE_COUNT").ok().and_then(|s| s.parse().ok()).unwrap_or(COUNT);
    let refs = generate(seed, count);
    let t = TestEnv::new();
    let docker_config = t.root().join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    // A port that was free a moment ago and has no listener: every proxied dial fails at once.
    let proxy = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    assert!(regcred_bin().exists());
    let isolation = isolation();

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Docker, Regcred)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(reference) = refs.get(i) else { break };
                    let docker = docker_verdict(reference, &isolation, &docker_config, &proxy);
                    let regcred = regcred_verdict(&t, reference);
                    results.lock().unwrap().push((i, docker, regcred));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _, _)| *i);

    let mut disagreements = Vec::new();
    let (mut accepted, mut refused, mut stricter) = (0, 0, 0);
    for (i, docker, regcred) in &results {
        let reference = short(&refs[*i]);
        match (docker, regcred) {
            (Docker::Accepted { host }, Ok(registry)) => {
                accepted += 1;
                if dialed(registry) != host {
                    disagreements.push(format!("{reference}: docker dials {host:?}, regcred names {registry:?}"));
                }
            }
            (Docker::Refused(_), Err(_)) => refused += 1,
            (Docker::Refused(why), Ok(registry)) => disagreements
                .push(format!("{reference}: docker refuses ({}), regcred accepts ({registry})", short(why))),
            (Docker::Accepted { host }, Err(message)) => {
                // A host may be unreachable for more than one reason; the message names one.
                let reasons: Vec<_> = STRICTER.iter().filter(|(_, applies, _)| applies(host)).collect();
                if reasons.iter().any(|(_, _, needle)| message.contains(needle)) {
                    stricter += 1;
                } else if let Some((case, _, needle)) = reasons.first() {
                    disagreements.push(format!(
                        "{reference}: refused for {case}, but the message lacks {needle:?}: {}",
                        short(message)
                    ));
                } else {
                    disagreements.push(format!(
                        "{reference}: docker accepts (host {host:?}), regcred refuses: {}",
                        short(message)
                    ));
                }
            }
        }
    }
    eprintln!(
        "{test}: seed {seed:#x}: {} references: {accepted} accepted by both, {refused} refused by both, {stricter} refused only by regcred (unreachable hosts)",
        refs.len()
    );
    assert!(
        disagreements.is_empty(),
        "docker and regcred disagree on {} of {} references (seed {seed:#x}):\n{}",
        disagreements.len(),
        refs.len(),
        disagreements.join("\n")
    );
    // The generator must keep exercising both sides and the stricter cases.
    assert!(accepted >= count / 5 && refused >= count / 5, "a lopsided sample: {accepted} accepted, {refused} refused");
    assert!(stricter >= STRICTER.len(), "too few stricter cases: {stricter}");
}
