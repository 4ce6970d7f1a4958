//! Scheduled state changes (`/api/v2/bulk/userstates`, `roster schedule`) and two schedulers on
//! one database, on PostgreSQL so the test can look at the rows and the audit trail. The rules
//! of firing are in `scheduler_firing`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, Timelike, Utc};
use conformance_tests::postgres::TestDatabase;
use conformance_tests::{Server, client, roster_command};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{Value, json};

const USERSTATES: &str = "/api/v2/bulk/userstates";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    value: String,
}

fn db(database: &TestDatabase) -> PgConnection {
    PgConnection::establish(&database.url).expect("connect to the test database")
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .expect(sql)
        .n
}

fn text(conn: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Text1>(conn)
        .expect(sql)
        .value
}

/// Inserts users straight into the database (user creation is another part of the API).
fn insert_users(conn: &mut PgConnection, prefix: &str, count: usize, samba: bool) {
    conn.batch_execute(&format!(
        "INSERT INTO users (id, username, username_folded, email, samba_service_user, state, \
         state_source, state_changed_at, creation_source, created_at, updated_at, version) \
         SELECT gen_random_uuid()::text, '{prefix}' || i, '{prefix}' || i, \
                '{prefix}' || i || '@example.com', {samba}, 'ACTIVATED', 'admin', \
                now() AT TIME ZONE 'UTC', 'admin', now() AT TIME ZONE 'UTC', \
                now() AT TIME ZONE 'UTC', 1 \
         FROM generate_series(1, {count}) AS i"
    ))
    .expect("insert users");
}

fn user_id(conn: &mut PgConnection, username: &str) -> String {
    text(
        conn,
        &format!("SELECT id AS value FROM users WHERE username = '{username}'"),
    )
}

fn api_key(database: &TestDatabase) -> String {
    let workdir = tempfile::tempdir().expect("tempdir");
    let output = roster_command(workdir.path())
        .args([
            "apikey",
            "create",
            "--name",
            "schedules-test",
            "--database-url",
        ])
        .arg(&database.url)
        .output()
        .expect("run roster apikey create");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// The counts that a refused request must leave alone.
fn footprint(conn: &mut PgConnection) -> (i64, i64, i64) {
    (
        count(conn, "SELECT count(*) AS n FROM schedules"),
        count(conn, "SELECT count(*) AS n FROM audit_events"),
        count(conn, "SELECT count(*) AS n FROM email_outbox"),
    )
}

#[test]
fn schedules_are_created_listed_and_deleted_through_the_api() {
    let database = TestDatabase::create();
    let server = Server::start(&["--database-url", &database.url]);
    let key = api_key(&database);
    let mut conn = db(&database);
    insert_users(&mut conn, "ann", 1, false);
    insert_users(&mut conn, "bob", 1, false);
    let (ann, bob) = (user_id(&mut conn, "ann1"), user_id(&mut conn, "bob1"));
    let http = client();

    // Two hours ahead, at minute 35 (off the 10-minute grid), written in +02:00.
    let requested = (Utc::now() + Span::hours(2))
        .with_minute(35)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .expect("time");
    let start_date = requested
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"))
        .to_rfc3339();
    let response = http
        .post(server.url(USERSTATES))
        .header("x-api-key", &key)
        .json(&json!({"user_ids": [ann, bob], "state": "SUSPENDED", "start_date": start_date}))
        .send()
        .expect("create");
    assert_eq!(response.status(), 201);
    let created: Vec<Value> = response.json().expect("json");
    assert_eq!(created.len(), 2);
    let expected_run =
        (requested + Span::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (result, user) in created.iter().zip([&ann, &bob]) {
        assert_eq!(result["state"], "SUSPENDED");
        assert_eq!(result["systemUserId"], user.as_str());
        assert_eq!(
            result["scheduledDate"],
            expected_run.as_str(),
            "10:35 runs at 10:40"
        );
        assert!(result["scheduledJobId"].is_string());
    }
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE event_type = 'user_suspension_schedule_create'"
        ),
        2
    );

    let list = |query: &str| -> Vec<Value> {
        let response = http
            .get(server.url(&format!("{USERSTATES}{query}")))
            .header("x-api-key", &key)
            .send()
            .expect("list");
        assert_eq!(response.status(), 200);
        response.json().expect("json")
    };
    assert_eq!(list("").len(), 2);
    let anns = list(&format!("?userid={ann}"));
    assert_eq!(anns.len(), 1);
    assert_eq!(anns[0]["systemUserId"], ann.as_str());
    assert_eq!(list("?limit=1&skip=1").len(), 1);

    // JumpCloud's v2 `filter`: field:operator:value, repeated filters must all hold.
    let activation_at = (requested + Span::hours(1)).to_rfc3339();
    let response = http
        .post(server.url(USERSTATES))
        .header("x-api-key", &key)
        .json(&json!({"user_ids": [ann], "state": "ACTIVATED", "start_date": activation_at}))
        .send()
        .expect("create");
    assert_eq!(response.status(), 201);
    let activation: Vec<Value> = response.json().expect("json");
    let activation_job = activation[0]["scheduledJobId"].as_str().expect("id");
    let jobs = |listed: Vec<Value>| -> Vec<String> {
        listed
            .iter()
            .map(|result| result["scheduledJobId"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        jobs(list("?filter=state:eq:ACTIVATED")),
        [activation_job],
        "only the activation"
    );
    assert_eq!(list("?filter=state:ne:ACTIVATED").len(), 2);
    assert_eq!(
        jobs(list(&format!("?filter=scheduledDate:gt:{expected_run}"))),
        [activation_job]
    );
    assert_eq!(
        list(&format!("?filter=scheduledDate:eq:{expected_run}")).len(),
        2
    );
    assert_eq!(
        list(&format!("?filter=systemUserId:in:{ann}|{bob}")).len(),
        3
    );
    assert_eq!(
        jobs(list(&format!(
            "?filter=systemUserId:eq:{ann}&filter=state:eq:ACTIVATED"
        ))),
        [activation_job]
    );
    assert!(list(&format!("?userid={bob}&filter=state:eq:ACTIVATED")).is_empty());
    assert_eq!(
        jobs(list(&format!("?filter=scheduledJobId:eq:{activation_job}"))),
        [activation_job]
    );
    let deleted = http
        .delete(server.url(&format!("{USERSTATES}/{activation_job}")))
        .header("x-api-key", &key)
        .send()
        .expect("delete");
    assert_eq!(deleted.status(), 204);

    let next: Value = http
        .get(server.url(&format!("{USERSTATES}/eventlist/next?users={ann},{bob}")))
        .header("x-api-key", &key)
        .send()
        .expect("next")
        .json()
        .expect("json");
    assert_eq!(next["events_count"], 2);
    assert_eq!(next["results"].as_array().map(Vec::len), Some(2));

    let job = anns[0]["scheduledJobId"].as_str().expect("id").to_owned();
    let job_url = server.url(&format!("{USERSTATES}/{job}"));
    for method in [reqwest::Method::PUT, reqwest::Method::PATCH] {
        let response = http
            .request(method, &job_url)
            .header("x-api-key", &key)
            .json(&json!({"start_date": start_date}))
            .send()
            .expect("edit");
        assert_eq!(response.status(), 405);
        let body: Value = response.json().expect("json");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("delete"),
            "{body}"
        );
    }
    let deleted = http
        .delete(&job_url)
        .header("x-api-key", &key)
        .send()
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let again = http
        .delete(&job_url)
        .header("x-api-key", &key)
        .send()
        .expect("delete");
    assert_eq!(again.status(), 404);
    assert!(list(&format!("?userid={ann}")).is_empty());
    assert_eq!(
        text(
            &mut conn,
            &format!("SELECT state AS value FROM users WHERE id = '{ann}'")
        ),
        "ACTIVATED",
        "deleting a schedule leaves the user as it is"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE event_type = 'user_suspension_schedule_delete'"
        ),
        1
    );
    let anonymous = http.get(server.url(USERSTATES)).send().expect("list");
    assert_eq!(anonymous.status(), 401);
}

#[test]
fn a_refused_schedule_request_names_the_rule_and_changes_nothing() {
    let database = TestDatabase::create();
    let server = Server::start(&["--database-url", &database.url]);
    let key = api_key(&database);
    let mut conn = db(&database);
    insert_users(&mut conn, "ann", 1, false);
    insert_users(&mut conn, "bob", 1, false);
    insert_users(&mut conn, "samba", 1, true);
    let (ann, bob, samba) = (
        user_id(&mut conn, "ann1"),
        user_id(&mut conn, "bob1"),
        user_id(&mut conn, "samba1"),
    );
    let ghost = "0190a000-0000-7000-8000-000000000000";
    let later = (Utc::now() + Span::hours(3)).to_rfc3339();
    let soon = (Utc::now() + Span::minutes(30)).to_rfc3339();
    let past = (Utc::now() - Span::minutes(30)).to_rfc3339();
    let http = client();
    let before = footprint(&mut conn);

    let cases = [
        (
            json!({"user_ids": [ann], "state": "SUSPENDED", "start_date": "2030-01-01T10:00:00"}),
            "offset",
        ),
        (
            json!({"user_ids": [ann], "state": "SUSPENDED", "start_date": soon}),
            "at least one hour",
        ),
        (
            json!({"user_ids": [ann], "state": "SUSPENDED", "start_date": past}),
            "in the past",
        ),
        (
            json!({"user_ids": [ann], "state": "STAGED", "start_date": later}),
            "ACTIVATED or SUSPENDED",
        ),
        (
            json!({"user_ids": [ann], "state": "GONE", "start_date": later}),
            "unknown state",
        ),
        (
            json!({"user_ids": [ann], "state": "SUSPENDED", "start_date": later, "send_activation_emails": true}),
            "only be used with scheduled activations",
        ),
        (
            json!({"user_ids": [ann], "state": "SUSPENDED", "start_date": later, "activation_email_override": "it@example.com"}),
            "only be used with scheduled activations",
        ),
        (
            json!({"user_ids": [ann, bob], "state": "ACTIVATED", "start_date": later, "activation_email_override": "it@example.com"}),
            "single user",
        ),
        (
            json!({"user_ids": [ann, ghost], "state": "SUSPENDED", "start_date": later}),
            ghost,
        ),
        (
            json!({"user_ids": [ann, samba], "state": "SUSPENDED", "start_date": later}),
            "Samba",
        ),
        (
            json!({"user_ids": [ann, "not-an-id"], "state": "SUSPENDED", "start_date": later}),
            "user_ids[1]",
        ),
        (
            json!({"user_ids": [], "state": "SUSPENDED", "start_date": later}),
            "at least one user",
        ),
        (
            json!({"user_ids": [ann], "start_date": later}),
            "missing field `state`",
        ),
        (
            json!({"state": "SUSPENDED", "start_date": later}),
            "missing field `user_ids`",
        ),
        (
            json!({"user_ids": [ann], "state": "SUSPENDED"}),
            "missing field `start_date`",
        ),
    ];
    for (body, expected) in cases {
        let response = http
            .post(server.url(USERSTATES))
            .header("x-api-key", &key)
            .json(&body)
            .send()
            .expect("create");
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().expect("json error");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body} -> {error}");
        assert_eq!(error["error"], "invalid_request");
        assert_eq!(footprint(&mut conn), before, "{body} changed something");
    }

    let too_many: Vec<String> = (0..101)
        .map(|i| format!("0190a000-0000-7000-8000-{i:012}"))
        .collect();
    for (query, expected) in [
        (String::new(), "users is required"),
        (format!("?users={}", too_many.join(",")), "at most 100"),
        ("?users=nope".to_owned(), "not a user id"),
    ] {
        let response = http
            .get(server.url(&format!("{USERSTATES}/eventlist/next{query}")))
            .header("x-api-key", &key)
            .send()
            .expect("next");
        assert_eq!(response.status(), 400, "{query}");
        let error: Value = response.json().expect("json");
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains(expected),
            "{error}"
        );
    }
    // A filter the list cannot evaluate is a 400 naming it, never a silently unfiltered list.
    for (query, expected) in [
        ("filter=color:eq:red", "unknown field \"color\""),
        ("filter=state:gt:SUSPENDED", "eq and ne"),
        ("filter=scheduledDate:gt:tomorrow", "RFC 3339"),
        ("filter=state", "field:operator:value"),
    ] {
        let response = http
            .get(server.url(&format!("{USERSTATES}?{query}")))
            .header("x-api-key", &key)
            .send()
            .expect("list");
        assert_eq!(response.status(), 400, "{query}");
        let error: Value = response.json().expect("json");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{query} -> {error}");
    }
    let unauthenticated = http
        .post(server.url(USERSTATES))
        .json(&json!({"user_ids": [ann], "state": "SUSPENDED", "start_date": later}))
        .send()
        .expect("create");
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(footprint(&mut conn), before);
}

#[test]
fn the_schedule_command_adds_lists_and_removes() {
    let database = TestDatabase::create();
    let mut conn = {
        // Migrate through the CLI first, so the tables exist.
        let workdir = tempfile::tempdir().expect("tempdir");
        let status = roster_command(workdir.path())
            .args(["migrate", "--database-url", &database.url])
            .status()
            .expect("migrate");
        assert!(status.success());
        db(&database)
    };
    insert_users(&mut conn, "carol", 1, false);
    let carol = user_id(&mut conn, "carol1");
    let workdir = tempfile::tempdir().expect("tempdir");
    let roster = |args: &[&str]| {
        roster_command(workdir.path())
            .args(args)
            .args(["--database-url", &database.url])
            .output()
            .expect("run roster")
    };
    let at = (Utc::now() + Span::hours(2)).to_rfc3339();
    let added = roster(&[
        "schedule",
        "add",
        "--user",
        "carol1",
        "--state",
        "SUSPENDED",
        "--at",
        &at,
    ]);
    assert!(added.status.success(), "{added:?}");
    let line = String::from_utf8(added.stdout).expect("utf-8");
    let fields: Vec<&str> = line.trim().split('\t').collect();
    assert_eq!(fields.len(), 4, "{line}");
    assert_eq!((fields[1], fields[2]), (carol.as_str(), "SUSPENDED"));
    let run_at: DateTime<Utc> = fields[3].parse().expect("a UTC time");
    assert_eq!(run_at.minute() % 10, 0, "{run_at}");

    let listed = roster(&["schedule", "list", "--user", &carol]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(fields[0]));

    let refused = roster(&[
        "schedule",
        "add",
        "--user",
        "carol1",
        "--state",
        "SUSPENDED",
        "--at",
        "2030-01-01T10:00:00",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("offset"),
        "{refused:?}"
    );

    let removed = roster(&["schedule", "rm", fields[0]]);
    assert!(removed.status.success(), "{removed:?}");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM schedules"), 0);
    let again = roster(&["schedule", "rm", fields[0]]);
    assert_eq!(again.status.code(), Some(1));
}

/// Two servers on one PostgreSQL, 1,000 schedules due at the same instant: each fires once.
#[test]
fn two_servers_on_one_database_fire_each_due_schedule_exactly_once() {
    const USERS: usize = 1000;
    let database = TestDatabase::create();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("roster.toml");
    std::fs::write(&config, "scheduler_interval_secs = 1\n").expect("write config");
    let config = config.to_string_lossy().into_owned();
    let args = [
        "--database-url",
        database.url.as_str(),
        "--config",
        config.as_str(),
    ];
    let first = Server::start(&args);
    let second = Server::start(&args);
    let mut conn = db(&database);
    insert_users(&mut conn, "load", USERS, false);
    // Due an hour ago, as if both servers had been down; inserted in one transaction so both
    // schedulers see all of them at once.
    conn.batch_execute(
        "INSERT INTO schedules (id, user_id, target_state, requested_at, run_at, \
         send_activation_email, created_by, created_at) \
         SELECT gen_random_uuid()::text, id, 'SUSPENDED', \
                (now() AT TIME ZONE 'UTC') - interval '1 hour', \
                (now() AT TIME ZONE 'UTC') - interval '1 hour', false, 'admin:test', \
                now() AT TIME ZONE 'UTC' \
         FROM users",
    )
    .expect("insert due schedules");

    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&mut conn, "SELECT count(*) AS n FROM schedules") > 0 {
        assert!(
            Instant::now() < deadline,
            "schedules still pending after 120 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM users WHERE state = 'SUSPENDED'"
        ),
        USERS as i64
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE event_type = 'user_suspended'"
        ),
        USERS as i64
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM (SELECT resource_id FROM audit_events \
             WHERE event_type = 'user_suspended' GROUP BY resource_id HAVING count(*) = 1) AS once"
        ),
        USERS as i64,
        "every user suspended exactly once"
    );
    // The servers' own accounts of what they fired add up to the same total.
    let fired_by = |server: &Server| -> u64 {
        server
            .log_lines()
            .iter()
            .filter(|line| line["message"] == "scheduler step")
            .filter_map(|line| line["fired"].as_u64())
            .sum()
    };
    let (by_first, by_second) = (fired_by(&first), fired_by(&second));
    eprintln!("fired: first server {by_first}, second server {by_second}");
    assert_eq!(by_first + by_second, USERS as u64);

    let workdir = tempfile::tempdir().expect("tempdir");
    let verify = roster_command(workdir.path())
        .args(["audit", "verify", "--database-url", &database.url])
        .output()
        .expect("audit verify");
    assert!(verify.status.success(), "{verify:?}");
}
