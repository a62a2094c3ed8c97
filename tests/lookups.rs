//! How often, and in what order, a command asks the real Secret Service for secrets: once
//! per credential, however many images use it. Observed with `dbus-monitor` on the private
//! test bus.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{TestEnv, tool_available};

/// `dbus-monitor` on the session bus, capturing every message until stopped.
struct Monitor {
    child: Child,
    out: std::path::PathBuf,
}

impl Monitor {
    fn start(t: &TestEnv) -> Monitor {
        Monitor::watching(t, &["type='method_call'"])
    }

    /// Captures what the match rules say; none: every message, answers included.
    fn watching(t: &TestEnv, rules: &[&str]) -> Monitor {
        let out = t.root().join("dbus-monitor.txt");
        let file = std::fs::File::create(&out).unwrap();
        let child = Command::new("dbus-monitor")
            .arg("--session")
            .args(rules)
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-monitor");
        let monitor = Monitor { child, out };
        // It says it became a monitor (it loses its own bus name) before it sees anything.
        let started = Instant::now();
        while !monitor.text().contains("NameLost") && !monitor.text().contains("member=BecomeMonitor") {
            assert!(started.elapsed() < Duration::from_secs(10), "dbus-monitor did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        monitor
    }

    fn text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.out) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Everything captured, once what was sent has had time to arrive.
    fn stop(mut self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.text()
    }
}

/// The method calls in a capture, each as (sender, member, the text of its arguments).
fn calls(capture: &str) -> Vec<(String, String, String)> {
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for line in capture.lines() {
        if line.starts_with("method call ") {
            let field =
                |name: &str| line.split([' ', ';']).find_map(|f| f.strip_prefix(name)).unwrap_or_default().to_owned();
            calls.push((field("sender="), field("member="), String::new()));
        } else if let Some(last) = calls.last_mut() {
            last.2.push_str(line);
            last.2.push('\n');
        }
    }
    calls
}

#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn resolve_reads_each_credentials_secret_from_the_keyring_once() {
    let test = "resolve_reads_each_credentials_secret_from_the_keyring_once";
    let Some(t) = TestEnv::keyring(test) else { return };
    if !tool_available(test, "dbus-monitor") {
        return;
    }
    let ids: Vec<u64> = (0..5).map(|i| t.add(&format!("r{i}.example.com"), "u", &format!("pw-lookups-{i}"))).collect();
    let store_id = {
        let value: toml::Table = toml::from_str(&std::fs::read_to_string(t.store_file()).unwrap()).unwrap();
        value["store_id"].as_str().unwrap().to_owned()
    };
    // 50 images, ten per credential, interleaved.
    let images: String = (0..50).map(|n| format!("r{}.example.com/team/app{n}\n", n % 5)).collect();

    let monitor = Monitor::start(&t);
    let out = t.run_with_stdin(&["resolve", "--stdin", "--show-secret", "-o", "json"], &images).ok();
    let capture = monitor.stop();

    let lines = out.json_lines();
    assert_eq!(lines.len(), 50);
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(line["credential"]["id"], ids[n % 5]);
        assert_eq!(line["credential"]["password"], format!("pw-lookups-{}", n % 5));
    }
    // regcred's connection(s): whoever searched for this store's items. Other tests may use
    // the same bus at the same time; their calls name other stores.
    let calls = calls(&capture);
    let mut ours: Vec<&str> = calls
        .iter()
        .filter(|(_, member, args)| member == "SearchItems" && args.contains(&store_id))
        .map(|(sender, _, _)| sender.as_str())
        .collect();
    ours.sort_unstable();
    ours.dedup();
    assert_eq!(ours.len(), 1, "one connection to the Secret Service, saw {ours:?} in:\n{capture}");
    let count = |member: &str| calls.iter().filter(|(s, m, _)| ours.contains(&s.as_str()) && m == member).count();
    assert_eq!(count("SearchItems"), 5, "one search per credential:\n{capture}");
    assert_eq!(count("GetSecret") + count("GetSecrets"), 5, "one secret read per credential:\n{capture}");
    assert_eq!(count("OpenSession"), 1, "one session:\n{capture}");
}

/// A helper `get` makes four calls, Hello, OpenSession, SearchItems and GetSecret, and does
/// not wait for the session before it searches. Proved without a race: the Secret Service is
/// stopped (SIGSTOP) while the `get` starts, so nothing answers OpenSession, and the search
/// must still reach the bus; waiting for each answer in turn, as before, never sends it.
/// The service is stopped for a few milliseconds, at most a second when this fails, less than
/// the calls of tests running beside this one wait (2 s).
#[test]
#[ignore = "needs system tools or services: run scripts/test, or cargo test -- --include-ignored"]
fn a_helper_get_searches_without_waiting_for_the_session() {
    let test = "a_helper_get_searches_without_waiting_for_the_session";
    let Some(t) = TestEnv::keyring(test) else { return };
    if !tool_available(test, "dbus-monitor") || !tool_available(test, "dbus-send") {
        return;
    }
    t.add("pipelined.example.com", "u", "pw-pipelined");
    let store_id = {
        let value: toml::Table = toml::from_str(&std::fs::read_to_string(t.store_file()).unwrap()).unwrap();
        value["store_id"].as_str().unwrap().to_owned()
    };
    let keyring_pid = {
        let out = Command::new("dbus-send")
            .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
            .args(["org.freedesktop.DBus.GetConnectionUnixProcessID", "string:org.freedesktop.secrets"])
            .output()
            .expect("dbus-send");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().last().and_then(|pid| pid.parse::<u32>().ok()).unwrap_or_else(|| panic!("{text}"))
    };
    let signal = |name: &str| {
        let status = Command::new("kill").args([name, &keyring_pid.to_string()]).status().unwrap();
        assert!(status.success(), "kill {name} {keyring_pid}");
    };
    /// Lets the Secret Service go on whatever happens.
    struct Resume<F: Fn(&str)>(F);
    impl<F: Fn(&str)> Drop for Resume<F> {
        fn drop(&mut self) {
            (self.0)("-CONT");
        }
    }

    let monitor = Monitor::watching(&t, &[]);
    let (ours, searched_unanswered) = {
        signal("-STOP");
        let _resume = Resume(signal);
        let mut helper = t
            .command(&crate::util::regcred_bin(), &["credential-helper", "get"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut helper.stdin.take().unwrap(), b"pipelined.example.com\n").unwrap();
        let started = Instant::now();
        let found = loop {
            let calls = calls(&monitor.text());
            let search = calls.iter().find(|(_, member, args)| member == "SearchItems" && args.contains(&store_id));
            if let Some((sender, _, _)) = search {
                let opened = calls.iter().any(|(s, member, _)| s == sender && member == "OpenSession");
                break Some((sender.clone(), opened));
            }
            if started.elapsed() > Duration::from_secs(1) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        drop(_resume);
        let out = helper.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        assert!(String::from_utf8_lossy(&out.stdout).contains("pw-pipelined"));
        match found {
            Some((sender, opened)) => (sender, opened),
            None => (String::new(), false),
        }
    };
    let capture = monitor.stop();
    assert!(searched_unanswered, "no SearchItems while OpenSession was unanswered:\n{capture}");
    let members: Vec<String> =
        calls(&capture).into_iter().filter(|(sender, _, _)| *sender == ours).map(|(_, member, _)| member).collect();
    assert_eq!(members, ["Hello", "OpenSession", "SearchItems", "GetSecret"], "{capture}");
}
