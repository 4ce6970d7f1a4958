//! `roster serve` as a newcomer and an operator meet it.

use std::time::Duration;

use conformance_tests::postgres::TestDatabase;
use conformance_tests::{Server, client, roster_command};

#[test]
fn with_no_configuration_it_starts_on_sqlite_in_the_working_directory() {
    let server = Server::start(&[]);
    let started = server
        .log_lines()
        .into_iter()
        .find(|l| l["message"] == "roster started")
        .expect("startup line");
    assert_eq!(started["backend"], "sqlite");
    assert_eq!(started["version"], env!("CARGO_PKG_VERSION"));
    assert!(server.workdir.path().join("roster-data/roster.db").exists());

    let http = client();
    let health = http.get(server.url("/healthz")).send().expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = http.get(server.url("/readyz")).send().expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().expect("json");
    assert_eq!(body["database"], "up");
}

#[test]
fn with_a_postgres_url_it_runs_on_postgres_and_reports_readiness_honestly() {
    let database = TestDatabase::create();
    let server = Server::start(&["--database-url", &database.url]);
    let started = server
        .log_lines()
        .into_iter()
        .find(|l| l["message"] == "roster started")
        .expect("startup line");
    assert_eq!(started["backend"], "postgres");
    let http = client();
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .expect("readyz")
            .status(),
        200
    );

    database.drop_now();
    let ready = http.get(server.url("/readyz")).send().expect("readyz");
    assert_eq!(
        ready.status(),
        503,
        "a server without its database is not ready"
    );
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .expect("healthz")
            .status(),
        200
    );
    let text = server.raw_log().join("\n");
    assert!(
        !text.contains("roster:roster@"),
        "credentials in the log: {text}"
    );
}

#[test]
fn an_unreachable_database_is_one_error_line_and_a_failure_exit() {
    let workdir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let output = roster_command(workdir.path())
        .args(["serve", "--database-url"])
        .arg(format!("postgres://roster:hunter2@127.0.0.1:{port}/roster"))
        .output()
        .expect("run roster");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: cannot open the database at"),
        "{stderr}"
    );
    assert!(lines[0].contains("refused"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_environment_configures_the_listen_address_and_data_directory() {
    let workdir = tempfile::tempdir().expect("tempdir");
    let data_dir = workdir.path().join("elsewhere");
    let mut child = roster_command(workdir.path())
        .arg("serve")
        .env("ROSTER_LISTEN", "127.0.0.1:0")
        .env("ROSTER_DATA_DIR", &data_dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !data_dir.join("roster.db").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no database in ROSTER_DATA_DIR"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn audit_verify_reports_an_intact_trail_with_exit_zero() {
    let workdir = tempfile::tempdir().expect("tempdir");
    let output = roster_command(workdir.path())
        .args(["audit", "verify"])
        .output()
        .expect("run roster");
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("intact"));
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let workdir = tempfile::tempdir().expect("tempdir");
    let output = roster_command(workdir.path())
        .arg("serv")
        .output()
        .expect("run roster");
    assert_eq!(output.status.code(), Some(2));
}
