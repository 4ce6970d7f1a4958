//! `POST /insights/directory/v1/events` and `roster audit export`: the audit trail in
//! Directory Insights' shape (behaviours 26 and 27 of reference/idp-lifecycle.md section (b)).

use conformance_tests::admin::AdminServer;
use conformance_tests::{client, roster_command};
use serde_json::{Value, json};

const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn events(server: &AdminServer, query: Value) -> Vec<Value> {
    let (status, body) = server.post("/insights/directory/v1/events", query.clone());
    assert_eq!(status, 200, "{query}: {body}");
    body.as_array().expect("an array of events").clone()
}

fn issue_token(server: &AdminServer, integration: &str) -> String {
    let output = roster_command(server.server.workdir.path())
        .args([
            "token",
            "issue",
            "--integration",
            integration,
            "--kind",
            "okta",
        ])
        .args(["--database-url", &server.database.url])
        .output()
        .expect("roster token issue");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

// 27: SCIM events carry initiated_by.source "jumpcloud:scim" and source_metadata.name; admin
// events carry auth_method "api-key".
#[test]
fn events_name_who_made_each_change_as_directory_insights_does() {
    let server = AdminServer::start();
    let admin_made = server.create_user(json!({"username": "by-admin", "email": "a@example.com"}));
    let token = issue_token(&server, "okta");
    let response = client()
        .post(server.server.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .json(&json!({"schemas": [SCIM_USER], "userName": "by-okta@example.com", "active": true}))
        .send()
        .expect("SCIM create");
    assert_eq!(response.status().as_u16(), 201);
    let scim_made: Value = response.json().expect("json");

    let created = events(
        &server,
        json!({
            "service": ["directory"],
            "start_time": "2000-01-01T00:00:00Z",
            "sort": "ASC",
            "search_term": {"and": [{"event_type": "user_create"}]},
        }),
    );
    assert_eq!(created.len(), 2, "{created:?}");
    let admin_event = &created[0];
    assert_eq!(admin_event["resource"]["id"], admin_made["_id"]);
    assert_eq!(admin_event["resource"]["type"], "systemuser");
    assert_eq!(admin_event["resource"]["username"], "by-admin");
    assert_eq!(admin_event["auth_method"], "api-key");
    assert_eq!(admin_event["initiated_by"]["type"], "admin");
    assert_eq!(admin_event["initiated_by"]["name"], "tests");
    assert_eq!(admin_event["service"], "directory");
    assert!(
        admin_event["timestamp"]
            .as_str()
            .expect("time")
            .ends_with('Z')
    );

    let scim_event = &created[1];
    assert_eq!(scim_event["resource"]["id"], scim_made["id"]);
    assert_eq!(scim_event["initiated_by"]["source"], "jumpcloud:scim");
    assert_eq!(
        scim_event["initiated_by"]["source_metadata"]["name"],
        "okta"
    );
    assert!(scim_event.get("auth_method").is_none(), "{scim_event}");

    // Newest first by default; paging and a field list.
    let newest = events(
        &server,
        json!({"service": ["all"], "start_time": "2000-01-01T00:00:00Z", "limit": 1, "fields": ["event_type", "id"]}),
    );
    assert_eq!(newest.len(), 1);
    assert_eq!(
        newest[0].as_object().expect("object").len(),
        2,
        "{newest:?}"
    );
    let all = events(
        &server,
        json!({"service": ["all"], "start_time": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(newest[0]["id"], all[0]["id"]);
    let second = events(
        &server,
        json!({"service": ["all"], "start_time": "2000-01-01T00:00:00Z", "limit": 1, "skip": 1}),
    );
    assert_eq!(second[0]["id"], all[1]["id"]);
    // A window that ends before anything happened, and a service Roster records nothing for.
    assert!(events(&server, json!({"service": ["directory"], "start_time": "2000-01-01T00:00:00Z", "end_time": "2001-01-01T00:00:00Z"})).is_empty());
    assert!(
        events(
            &server,
            json!({"service": ["ldap"], "start_time": "2000-01-01T00:00:00Z"})
        )
        .is_empty()
    );
    let by_user = events(
        &server,
        json!({"service": ["directory"], "start_time": "2000-01-01T00:00:00Z",
               "search_term": {"and": [{"resource.id": [admin_made["_id"].clone()]}]}}),
    );
    assert!(!by_user.is_empty());
    assert!(
        by_user
            .iter()
            .all(|e| e["resource"]["id"] == admin_made["_id"])
    );
}

#[test]
fn a_bad_query_is_refused_with_what_to_change() {
    let server = AdminServer::start();
    let audit_before = server.audit_count();
    for (query, needle) in [
        (json!({"start_time": "2026-01-01T00:00:00Z"}), "service"),
        (json!({"service": ["directory"]}), "start_time"),
        (
            json!({"service": ["directory"], "start_time": "last week"}),
            "RFC 3339",
        ),
        (
            json!({"service": ["payroll"], "start_time": "2026-01-01T00:00:00Z"}),
            "payroll",
        ),
        (
            json!({"service": ["all"], "start_time": "2026-01-01T00:00:00Z", "limit": 100000}),
            "limit",
        ),
        (json!([1, 2]), "object"),
    ] {
        let (status, error) = server.post("/insights/directory/v1/events", query.clone());
        assert_eq!(status, 400, "{query}: {error}");
        assert!(
            error["message"].as_str().expect("message").contains(needle),
            "{needle}: {error}"
        );
    }
    let response = client()
        .post(server.server.url("/insights/directory/v1/events"))
        .json(&json!({"service": ["all"], "start_time": "2026-01-01T00:00:00Z"}))
        .send()
        .expect("send");
    assert_eq!(response.status().as_u16(), 401, "no API key");
    assert_eq!(server.audit_count(), audit_before);
}

#[test]
fn the_trail_exports_as_json_lines_and_csv() {
    let server = AdminServer::start();
    server.create_user(json!({"username": "exported", "email": "e@example.com"}));
    server.create_user(json!({"username": "with,comma", "email": "c@example.com"}));
    let total = usize::try_from(server.audit_count()).expect("count");
    let dir = tempfile::tempdir().expect("tempdir");
    let export = |args: &[&str]| {
        roster_command(server.server.workdir.path())
            .args(["audit", "export"])
            .args(args)
            .args(["--database-url", &server.database.url])
            .output()
            .expect("roster audit export")
    };

    let jsonl = export(&[]);
    assert!(jsonl.status.success(), "{jsonl:?}");
    let lines: Vec<Value> = String::from_utf8(jsonl.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), total);
    assert_eq!(lines[0]["chain"]["seq"], 1, "oldest first");
    assert_eq!(lines[total - 1]["resource"]["username"], "with,comma");

    let csv_path = dir.path().join("trail.csv");
    let csv = export(&[
        "--format",
        "csv",
        "--output",
        csv_path.to_str().expect("path"),
    ]);
    assert!(csv.status.success(), "{csv:?}");
    let text = std::fs::read_to_string(&csv_path).expect("read csv");
    assert!(text.starts_with("seq,id,timestamp,event_type,"), "{text}");
    assert!(text.contains(",\"with,comma\","), "{text}");

    let none = export(&["--since", "2999-01-01T00:00:00Z"]);
    assert!(none.status.success());
    assert!(none.stdout.is_empty(), "nothing after the window start");
    let bad = export(&["--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error: {bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}
