//! `roster user …` on a fresh SQLite data directory: the same rules as the admin API, with
//! meaningful exit codes.

use std::io::Write;
use std::process::{Output, Stdio};

use conformance_tests::roster_command;

fn roster(dir: &std::path::Path, args: &[&str]) -> Output {
    roster_command(dir).args(args).output().expect("run roster")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn users_are_created_listed_activated_suspended_and_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut create = roster_command(dir)
        .args([
            "user",
            "create",
            "--username",
            "cli-ann",
            "--email",
            "Ann@Example.com",
        ])
        .args([
            "--state",
            "STAGED",
            "--password-stdin",
            "--password-expired",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    create
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"Cli-password-42\n")
        .expect("write password");
    let created = create.wait_with_output().expect("wait");
    assert!(created.status.success(), "{created:?}");
    let user: serde_json::Value = serde_json::from_slice(&created.stdout).expect("json");
    assert_eq!(user["state"], "STAGED");
    assert_eq!(user["activated"], true);
    assert_eq!(user["password_expired"], true);
    assert_eq!(user["email"], "ann@example.com");

    let listed = roster(dir, &["user", "list", "--state", "STAGED"]);
    assert!(
        stdout(&listed).contains("cli-ann\tann@example.com\tSTAGED"),
        "{listed:?}"
    );

    let activated = roster(dir, &["user", "activate", "cli-ann", "--no-email"]);
    assert!(stdout(&activated).contains("ACTIVATED"), "{activated:?}");
    let suspended = roster(dir, &["user", "suspend", "cli-ann"]);
    assert!(stdout(&suspended).contains("SUSPENDED"), "{suspended:?}");
    let shown = roster(dir, &["user", "show", "cli-ann"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["suspended"], true);

    let second = roster(
        dir,
        &[
            "user",
            "create",
            "--username",
            "smb",
            "--email",
            "s@example.com",
        ],
    );
    assert!(second.status.success(), "{second:?}");
    let weak = roster_command(dir)
        .args([
            "user",
            "create",
            "--username",
            "weak",
            "--email",
            "w@example.com",
            "--password-stdin",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(weak.status.code(), Some(4), "a refused request: {weak:?}");
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("password"),
        "{weak:?}"
    );

    let deleted = roster(dir, &["user", "delete", "cli-ann"]);
    assert!(deleted.status.success(), "{deleted:?}");
    let missing = roster(dir, &["user", "show", "cli-ann"]);
    assert_eq!(missing.status.code(), Some(4));
    let usage = roster(dir, &["user", "activate"]);
    assert_eq!(usage.status.code(), Some(2));
    let verify = roster(dir, &["audit", "verify"]);
    assert!(stdout(&verify).contains("intact"), "{verify:?}");
}
