//! A server with an admin API key, on its own PostgreSQL database so that tests can look at
//! what it stored (users, audit events, queued email) directly.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::Value;

use crate::postgres::TestDatabase;
use crate::{Server, client, roster_command};

/// A running server, its database and a valid API key.
pub struct AdminServer {
    pub server: Server,
    pub database: TestDatabase,
    pub key: String,
    http: reqwest::blocking::Client,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One audit event as stored.
#[derive(Debug, Clone, QueryableByName)]
pub struct StoredEvent {
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub resource_id: String,
    #[diesel(sql_type = Text)]
    pub initiator_kind: String,
    #[diesel(sql_type = Text)]
    pub details: String,
}

impl AdminServer {
    /// Starts a server with `config_toml` (written to a file and passed with `--config`).
    pub fn start_with_config(config_toml: &str) -> Self {
        let database = TestDatabase::create();
        let config_dir = tempfile::tempdir().expect("config dir");
        let config_path = config_dir.path().join("roster.toml");
        std::fs::write(&config_path, config_toml).expect("write config");
        let config_arg = config_path.to_string_lossy().into_owned();
        let server = Server::start(&["--database-url", &database.url, "--config", &config_arg]);
        let output = roster_command(server.workdir.path())
            .args([
                "apikey",
                "create",
                "--name",
                "tests",
                "--database-url",
                &database.url,
            ])
            .output()
            .expect("run roster apikey create");
        assert!(output.status.success(), "{output:?}");
        let key = String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned();
        // The config file is read at start; it may go now.
        drop(config_dir);
        Self {
            server,
            database,
            key,
            http: client(),
        }
    }

    pub fn start() -> Self {
        Self::start_with_config("email_poll_seconds = 1\n")
    }

    /// Sends a request with the API key; returns the status and the JSON body (Null if none).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, self.server.url(path))
            .header("x-api-key", &self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        let text = response.text().expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, json)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body))
    }

    pub fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PUT", path, Some(body))
    }

    /// Creates a user and returns its body; panics unless the server answers 200.
    pub fn create_user(&self, body: Value) -> Value {
        let (status, user) = self.post("/api/systemusers", body.clone());
        assert_eq!(status, 200, "create {body}: {user}");
        user
    }

    fn connection(&self) -> PgConnection {
        PgConnection::establish(&self.database.url).expect("connect to the test database")
    }

    fn count(&self, sql: &str) -> i64 {
        diesel::sql_query(sql)
            .get_result::<Count>(&mut self.connection())
            .expect("count")
            .n
    }

    pub fn audit_count(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM audit_events")
    }

    pub fn email_count(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM email_outbox")
    }

    pub fn pending_email_count(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM email_outbox WHERE status = 'pending'")
    }

    /// Every stored user row as text, in id order: a snapshot to compare before and after.
    pub fn users_snapshot(&self) -> Vec<String> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            row: String,
        }
        diesel::sql_query("SELECT CAST(u.* AS TEXT) AS row FROM users u ORDER BY id")
            .load::<Row>(&mut self.connection())
            .expect("users")
            .into_iter()
            .map(|r| r.row)
            .collect()
    }

    /// The audit events about one resource, oldest first.
    pub fn events_for(&self, resource_id: &str) -> Vec<StoredEvent> {
        diesel::sql_query(
            "SELECT event_type, resource_id, initiator_kind, details FROM audit_events \
             WHERE resource_id = $1 ORDER BY seq",
        )
        .bind::<Text, _>(resource_id)
        .load(&mut self.connection())
        .expect("events")
    }

    /// The email queued for one user, oldest first, as (kind, recipient).
    pub fn emails_for(&self, user_id: &str) -> Vec<(String, String)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            kind: String,
            #[diesel(sql_type = Text)]
            recipient: String,
        }
        diesel::sql_query("SELECT kind, recipient FROM email_outbox WHERE user_id = $1 ORDER BY id")
            .bind::<Text, _>(user_id)
            .load::<Row>(&mut self.connection())
            .expect("emails")
            .into_iter()
            .map(|r| (r.kind, r.recipient))
            .collect()
    }

    /// Runs one scheduler step with `roster schedule run --now` against this server's database
    /// (the injected clock: nothing waits) and returns the counts it prints.
    pub fn run_scheduler_at(&self, now: chrono::DateTime<chrono::Utc>) -> Value {
        let output = roster_command(self.server.workdir.path())
            .args(["schedule", "run", "--now", &now.to_rfc3339()])
            .args(["--database-url", &self.database.url])
            .output()
            .expect("run roster schedule run");
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).expect("the step's counts as JSON")
    }

    /// Moves a pending schedule's run time to the database's "now", so that a scheduler step at
    /// the real time fires it (a schedule must be made at least an hour ahead).
    pub fn make_schedule_due(&self, schedule_id: &str) {
        let mut conn = self.connection();
        diesel::sql_query("UPDATE schedules SET run_at = now() AT TIME ZONE 'UTC' WHERE id = $1")
            .bind::<Text, _>(schedule_id)
            .execute(&mut conn)
            .expect("make the schedule due");
    }

    /// Waits until the server's dispatcher has no provisioning job left to do, and checks that
    /// none failed for good.
    pub fn wait_for_provisioning(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (status, pending) = self.get("/api/v2/provisioning/jobs?status=pending");
            assert_eq!(status, 200, "{pending}");
            if pending.as_array().is_some_and(Vec::is_empty) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "jobs still pending: {pending}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let (_, parked) = self.get("/api/v2/provisioning/jobs?status=parked");
        assert_eq!(parked, serde_json::json!([]), "nothing parked");
    }

    /// The event types about one resource, oldest first.
    pub fn event_types(&self, resource_id: &str) -> Vec<String> {
        self.events_for(resource_id)
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }
}
