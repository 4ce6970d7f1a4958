//! `POST /api/v2/bulk/users` and its job results: the `creation-source` header picks the
//! default state (behaviours 14 and 15 of reference/idp-lifecycle.md section (b)).

use conformance_tests::admin::AdminServer;
use serde_json::{Value, json};

/// Sends a bulk create with an optional `creation-source` header.
fn bulk_create(server: &AdminServer, source: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = conformance_tests::client()
        .post(server.server.url("/api/v2/bulk/users"))
        .header("x-api-key", &server.key)
        .json(body);
    if let Some(source) = source {
        request = request.header("creation-source", source);
    }
    let response = request.send().expect("bulk create");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Runs a one-user job and returns the new user's state, from the job's results.
fn state_of_new_user(server: &AdminServer, source: Option<&str>, item: Value) -> String {
    let (status, job) = bulk_create(server, source, &json!([item]));
    assert_eq!(status, 201, "{job}");
    let job_id = job["jobId"].as_str().expect("jobId");
    let (status, results) = server.get(&format!("/api/v2/bulk/users/{job_id}/results"));
    assert_eq!(status, 200, "{results}");
    assert_eq!(results[0]["status"], "finished", "{results}");
    let id = results[0]["persistedFields"]["id"].as_str().expect("id");
    let (status, user) = server.get(&format!("/api/systemusers/{id}"));
    assert_eq!(status, 200, "{user}");
    user["state"].as_str().expect("state").to_owned()
}

fn set_defaults(server: &AdminServer, csv_import: &str, application_import: &str) {
    let (_, list) = server.get("/api/organizations");
    let id = list["results"][0]["_id"]
        .as_str()
        .expect("org id")
        .to_owned();
    let (status, body) = server.put(
        &format!("/api/organizations/{id}"),
        json!({"settings": {"newSystemUserStateDefaults": {
            "manualEntry": "ACTIVATED",
            "csvImport": csv_import,
            "applicationImport": application_import,
        }}}),
    );
    assert_eq!(status, 200, "{body}");
}

fn user(name: &str) -> Value {
    json!({"username": name, "email": format!("{name}@example.com")})
}

// 14: jumpcloud:bulk or no header → csvImport; any other source → applicationImport; each path
// tested with the setting flipped. 15: an explicit state beats the default.
#[test]
fn the_creation_source_header_picks_the_default_state() {
    let server = AdminServer::start();

    set_defaults(&server, "STAGED", "ACTIVATED");
    assert_eq!(state_of_new_user(&server, None, user("csv-1")), "STAGED");
    assert_eq!(
        state_of_new_user(&server, Some("jumpcloud:bulk"), user("csv-2")),
        "STAGED"
    );
    assert_eq!(
        state_of_new_user(&server, Some("jumpcloud:workday"), user("app-1")),
        "ACTIVATED"
    );
    assert_eq!(
        server.create_user(user("single-1"))["state"],
        "ACTIVATED",
        "a single create follows manualEntry"
    );

    set_defaults(&server, "ACTIVATED", "STAGED");
    assert_eq!(state_of_new_user(&server, None, user("csv-3")), "ACTIVATED");
    assert_eq!(
        state_of_new_user(&server, Some("jumpcloud:bulk"), user("csv-4")),
        "ACTIVATED"
    );
    for (n, source) in [
        "jumpcloud:gapps",
        "jumpcloud:o365",
        "jumpcloud:workday",
        "jumpcloud:scim",
        "jumpcloud:custom_integration",
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            state_of_new_user(&server, Some(source), user(&format!("app-{}", n + 2))),
            "STAGED",
            "{source}"
        );
    }
    let mut explicit = user("explicit-1");
    explicit["state"] = json!("ACTIVATED");
    assert_eq!(
        state_of_new_user(&server, Some("jumpcloud:gapps"), explicit),
        "ACTIVATED"
    );
}

#[test]
fn each_item_reports_its_own_outcome() {
    let server = AdminServer::start();
    server.create_user(user("taken"));
    let (status, job) = bulk_create(
        &server,
        None,
        &json!([user("fresh"), user("taken"), {"username": "no-email"}]),
    );
    assert_eq!(status, 201, "{job}");
    let job_id = job["jobId"].as_str().expect("jobId");
    let (status, results) = server.get(&format!("/api/v2/bulk/users/{job_id}/results"));
    assert_eq!(status, 200);
    let statuses: Vec<&str> = results
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["finished", "failed", "failed"], "{results}");
    assert!(
        results[1]["statusMsg"]
            .as_str()
            .expect("msg")
            .contains("username"),
        "{results}"
    );
    assert!(
        results[2]["statusMsg"]
            .as_str()
            .expect("msg")
            .contains("email"),
        "{results}"
    );
    for field in ["id", "createdAt", "updatedAt", "meta", "persistedFields"] {
        assert!(!results[0][field].is_null(), "{field} in {results}");
    }
    let (status, _) = server.get("/api/v2/bulk/users/0190f0e4-0000-7000-8000-000000000000/results");
    assert_eq!(status, 404);
}

#[test]
fn a_bad_request_creates_nobody() {
    let server = AdminServer::start();
    let users_before = server.users_snapshot();
    let audit_before = server.audit_count();
    for (source, body, needle) in [
        (
            Some("jumpcloud:payroll"),
            json!([user("x1")]),
            "jumpcloud:bulk",
        ),
        (None, json!(user("x2")), "array"),
        (None, json!([]), "1 to 1000"),
    ] {
        let (status, error) = bulk_create(&server, source, &body);
        assert_eq!(status, 400, "{error}");
        assert!(
            error["message"].as_str().expect("message").contains(needle),
            "{needle}: {error}"
        );
    }
    let response = conformance_tests::client()
        .post(server.server.url("/api/v2/bulk/users"))
        .json(&json!([user("x3")]))
        .send()
        .expect("send");
    assert_eq!(response.status().as_u16(), 401, "no API key");
    assert_eq!(server.users_snapshot(), users_before);
    assert_eq!(server.audit_count(), audit_before);
}
