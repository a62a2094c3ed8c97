//! A locked keyring on a desktop is unlocked through the Secret Service's own prompt, as
//! libsecret clients do: a private gnome-keyring with its collection locked, an `Xvfb`
//! display, gnome-keyring's prompter (`gcr-prompter`) showing its dialog, and `xdotool`
//! typing the password (or dismissing the dialog). Without a display nothing can be shown,
//! and the error's hint says what works.
//!
//! Each case runs in a Secret Service of its own (scripts/with-keyring, nested), since
//! locking the collection would disturb every other keyring test.

use std::path::Path;

use crate::util::{Run, TestEnv, regcred_bin};

/// The password of the login keyring scripts/with-keyring creates.
const KEYRING_PASSWORD: &str = "regcred-test";

fn tools(test: &str) -> bool {
    crate::registry_server::available(
        test,
        &["dbus-run-session", "gnome-keyring-daemon", "dbus-send", "Xvfb", "xdotool", "/usr/libexec/gcr-prompter"],
    )
}

/// Runs `script` (bash) in a fresh private Secret Service, with `$REGCRED` the binary, a
/// credential for quay.io (secret `quay-pw`) already stored in the keyring, the `lock`
/// function locking the login collection, and, when `display` is true, an Xvfb display in
/// `$DISPLAY` that the session bus (and so the prompter it starts) knows about.
fn in_private_keyring(t: &TestEnv, display: bool, script: &str) -> Run {
    let prelude = r#"
set -u
lock() {
    dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
}
if [ "$WANT_DISPLAY" = 1 ]; then
    # -displayfd picks a free display number and writes it once the server is ready.
    exec 4>"$HOME/display"
    Xvfb -displayfd 4 -nolisten tcp -screen 0 800x600x24 >/dev/null 2>&1 &
    xvfb=$!
    trap 'kill $xvfb 2>/dev/null' EXIT
    for _ in $(seq 100); do [ -s "$HOME/display" ] && break; sleep 0.1; done
    export DISPLAY=":$(cat "$HOME/display")"
    dbus-update-activation-environment DISPLAY="$DISPLAY"
fi
echo quay-pw | "$REGCRED" add quay.io -u bob --password-stdin -q >/dev/null || exit 99
# Types into the unlock dialog once it is shown: the password and Return, or Escape.
answer_prompt() {
    local window
    window=$(timeout 30 xdotool search --sync --onlyvisible --name 'Unlock' | head -1) || { echo "NO PROMPT" >&2; return; }
    echo "PROMPT SHOWN" >&2
    sleep 0.5
    if [ "$1" = escape ]; then
        xdotool key Escape
    else
        xdotool type --delay 20 "$1"
        xdotool key Return
    fi
}
"#;
    let script_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/with-keyring");
    let mut cmd = t.command(Path::new("bash"), &[]);
    cmd.arg(&script_path)
        .args(["bash", "-c", &format!("{prelude}\n{script}")])
        .env("REGCRED", regcred_bin())
        .env("REGCRED_SECRET_STORE", "keyring")
        .env("WANT_DISPLAY", if display { "1" } else { "0" })
        .env("KEYRING_PASSWORD", KEYRING_PASSWORD);
    let out = cmd.output().expect("run scripts/with-keyring");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_locked_keyring_is_unlocked_through_the_secret_service_prompt() {
    let test = "a_locked_keyring_is_unlocked_through_the_secret_service_prompt";
    if !tools(test) {
        return;
    }
    let t = TestEnv::new();
    let run = in_private_keyring(
        &t,
        true,
        r#"
lock
answer_prompt "$KEYRING_PASSWORD" & answering=$!
"$REGCRED" resolve quay.io/app --show-secret -o plain; echo "RESOLVE $?"
wait $answering
# A write of a new secret asks to unlock too.
lock
answer_prompt "$KEYRING_PASSWORD" & answering=$!
echo ghcr-pw | "$REGCRED" add ghcr.io -u carol --password-stdin -q; echo "ADD $?"
wait $answering
"$REGCRED" resolve ghcr.io/app --show-secret -o plain; echo "AFTER $?"
# Delete checks the secret store before it changes anything: that asks to unlock as well.
lock
answer_prompt "$KEYRING_PASSWORD" & answering=$!
"$REGCRED" delete 1 --yes; echo "DELETE $?"
wait $answering
"$REGCRED" list -o plain
"#,
    );
    assert!(run.stderr.contains("PROMPT SHOWN"), "the prompt was shown: {run:?}");
    assert!(run.stdout.contains("quay.io/app\tquay.io/app:latest\t1\tquay.io\tbob\tquay-pw"), "{run:?}");
    assert!(run.stdout.contains("RESOLVE 0"), "{run:?}");
    assert!(run.stdout.contains("ADD 0"), "{run:?}");
    assert!(run.stdout.contains("\tcarol\tghcr-pw"), "{run:?}");
    assert!(run.stdout.contains("AFTER 0"), "{run:?}");
    assert!(run.stdout.contains("DELETE 0"), "{run:?}");
    assert!(!run.stdout.contains("1\t-\tquay.io\tbob\t"), "credential 1 was deleted: {run:?}");
    assert_eq!(run.stderr.matches("PROMPT SHOWN").count(), 3, "{run:?}");
}

#[test]
fn a_dismissed_or_impossible_unlock_prompt_fails_with_a_hint_that_works() {
    let test = "a_dismissed_or_impossible_unlock_prompt_fails_with_a_hint_that_works";
    if !tools(test) {
        return;
    }
    let t = TestEnv::new();
    // The user presses Escape: locked, exit 1, nothing changed.
    let run = in_private_keyring(
        &t,
        true,
        r#"
lock
answer_prompt escape & answering=$!
start=$(date +%s)
"$REGCRED" resolve quay.io/app --show-secret -o plain; echo "RESOLVE $?"
echo "SECONDS $(( $(date +%s) - start ))"
wait $answering
"$REGCRED" list -o plain
"#,
    );
    assert!(run.stderr.contains("PROMPT SHOWN"), "{run:?}");
    assert!(run.stdout.contains("RESOLVE 1"), "{run:?}");
    assert!(run.stderr.contains("error: the keyring is locked"), "{run:?}");
    assert!(!run.stdout.contains("quay-pw"), "{run:?}");
    assert!(run.stdout.contains("1\t-\tquay.io\tbob\t"), "the credential is still listed: {run:?}");
    assert!(seconds(&run) < 30, "a dismissed prompt is an answer, not a timeout: {run:?}");

    // No display: nothing is shown and nothing waits; the hint names what works and no
    // longer suggests starting a second gnome-keyring-daemon.
    let t = TestEnv::new();
    let run = in_private_keyring(
        &t,
        false,
        r#"
lock
start=$(date +%s)
"$REGCRED" resolve quay.io/app --show-secret -o plain; echo "RESOLVE $?"
echo "SECONDS $(( $(date +%s) - start ))"
"#,
    );
    assert!(run.stdout.contains("RESOLVE 1"), "{run:?}");
    assert!(run.stderr.contains("error: the keyring is locked"), "{run:?}");
    assert!(run.stderr.contains("unlock prompt when DISPLAY or WAYLAND_DISPLAY is set"), "{run:?}");
    assert!(run.stderr.contains("--secret-store file"), "{run:?}");
    assert!(!run.stderr.contains("gnome-keyring-daemon --unlock"), "{run:?}");
    assert!(seconds(&run) < 5, "no prompt is waited for without a display: {run:?}");
}

/// The `SECONDS n` a script printed.
fn seconds(run: &Run) -> u64 {
    run.stdout.lines().find_map(|l| l.strip_prefix("SECONDS ")?.parse().ok()).expect("SECONDS in the output")
}
