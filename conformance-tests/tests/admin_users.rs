//! `/api/systemusers` against the running server on PostgreSQL. Numbers in comments are the
//! behaviours of reference/idp-lifecycle.md section (b).

use conformance_tests::admin::AdminServer;
use serde_json::{Value, json};

fn id(user: &Value) -> String {
    user["_id"].as_str().expect("user has an _id").to_owned()
}

fn user_path(user: &Value) -> String {
    format!("/api/systemusers/{}", id(user))
}

/// Asserts a 400 whose message contains `needle`, and that neither users nor the audit trail
/// changed.
fn assert_refused(server: &AdminServer, outcome: (u16, Value), needle: &str, before: &Snapshot) {
    let (status, body) = outcome;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().expect("an error message");
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        &Snapshot::take(server),
        before,
        "a refusal changed something"
    );
}

#[derive(Debug, PartialEq)]
struct Snapshot {
    users: Vec<String>,
    audit: i64,
    email: i64,
}

impl Snapshot {
    fn take(server: &AdminServer) -> Self {
        Self {
            users: server.users_snapshot(),
            audit: server.audit_count(),
            email: server.email_count(),
        }
    }
}

// 1, 2, 15: state names, the manualEntry default, explicit states, required fields.
#[test]
fn a_create_takes_the_manual_entry_default_unless_a_state_is_given() {
    let server = AdminServer::start();
    let plain = server.create_user(json!({"username": "ada", "email": "Ada@Example.COM"}));
    assert_eq!(plain["state"], "ACTIVATED", "fresh install default");
    assert_eq!(
        plain["email"], "ada@example.com",
        "9: emails are lower-cased"
    );
    assert_eq!(plain["activated"], false, "no password yet");
    assert_eq!(plain["suspended"], false);
    assert_eq!(plain["account_locked"], false);
    assert_eq!(plain["password_expired"], false);

    let (org_status, orgs) = server.get("/api/organizations");
    assert_eq!(org_status, 200);
    let org_id = orgs["results"][0]["_id"]
        .as_str()
        .expect("org id")
        .to_owned();
    let (status, _) = server.put(
        &format!("/api/organizations/{org_id}"),
        json!({"settings": {"newSystemUserStateDefaults": {"manualEntry": "STAGED"}}}),
    );
    assert_eq!(status, 200);
    let staged = server.create_user(json!({"username": "bea", "email": "bea@example.com"}));
    assert_eq!(staged["state"], "STAGED");
    for state in ["STAGED", "ACTIVATED", "SUSPENDED"] {
        let user = server.create_user(json!({
            "username": format!("u-{state}"), "email": "u@example.com", "state": state
        }));
        assert_eq!(user["state"], state, "15: an explicit state wins");
        assert_eq!(user["suspended"], state == "SUSPENDED", "5");
    }
    let suspended =
        server.create_user(json!({"username": "cy", "email": "cy@example.com", "suspended": true}));
    assert_eq!(
        suspended["state"], "SUSPENDED",
        "5: suspended:true alone suspends"
    );

    let before = Snapshot::take(&server);
    for (body, needle) in [
        (json!({"username": "dee"}), "email"),
        (json!({"email": "dee@example.com"}), "username"),
        (
            json!({"username": "dee", "email": "not-an-address"}),
            "email",
        ),
        (
            json!({"username": "dee", "email": "d@example.com", "state": "ACTIVE"}),
            "state",
        ),
        (
            json!({"username": "dee", "email": "d@example.com", "shoeSize": 44}),
            "shoeSize",
        ),
        (
            json!({"username": "dee", "email": "d@example.com", "state": "STAGED", "suspended": true}),
            "contradicts",
        ),
    ] {
        assert_refused(
            &server,
            server.post("/api/systemusers", body),
            needle,
            &before,
        );
    }
    let events = server.event_types(&id(&plain));
    assert_eq!(events, ["user_create"], "26");
}

// 9: duplicates are 409 and change nothing.
#[test]
fn duplicate_usernames_and_employee_ids_conflict() {
    let server = AdminServer::start();
    server.create_user(
        json!({"username": "eve", "email": "eve@example.com", "employeeIdentifier": "E1"}),
    );
    let before = Snapshot::take(&server);
    for body in [
        json!({"username": "EVE", "email": "x@example.com"}),
        json!({"username": "eve2", "email": "x@example.com", "employeeIdentifier": "E1"}),
    ] {
        let (status, error) = server.post("/api/systemusers", body);
        assert_eq!(status, 409, "{error}");
        assert_eq!(Snapshot::take(&server), before);
    }
}

// 3, 4: STAGED is refused from every state; the four allowed transitions work; a request for
// the current state is a no-op without an event. 26: the events each change writes.
#[test]
fn put_moves_between_states_by_the_rules() {
    let server = AdminServer::start();
    for state in ["STAGED", "ACTIVATED", "SUSPENDED"] {
        let user = server.create_user(
            json!({"username": format!("p-{state}"), "email": "p@example.com", "state": state}),
        );
        let before = Snapshot::take(&server);
        assert_refused(
            &server,
            server.put(&user_path(&user), json!({"state": "STAGED"})),
            "STAGED",
            &before,
        );
    }
    let cases = [
        ("STAGED", "ACTIVATED", "user_activated"),
        ("STAGED", "SUSPENDED", "user_suspended"),
        ("ACTIVATED", "SUSPENDED", "user_suspended"),
        ("SUSPENDED", "ACTIVATED", "user_unsuspended"),
    ];
    for (from, to, event) in cases {
        let user = server.create_user(
            json!({"username": format!("t-{from}-{to}"), "email": "t@example.com", "state": from}),
        );
        let (status, changed) = server.put(&user_path(&user), json!({"state": to}));
        assert_eq!(status, 200, "{from} -> {to}: {changed}");
        assert_eq!(changed["state"], to);
        assert_eq!(changed["suspended"], to == "SUSPENDED");
        assert_eq!(server.event_types(&id(&user)), ["user_create", event]);
        let before = Snapshot::take(&server);
        let (status, same) = server.put(&user_path(&user), json!({"state": to}));
        assert_eq!((status, &same["state"]), (200, &json!(to)));
        assert_eq!(Snapshot::take(&server), before, "no-op writes nothing");
    }
}

// 5: suspended mirrors the state; contradictions are refused; suspended alone works both ways.
#[test]
fn the_legacy_suspended_flag_follows_the_state() {
    let server = AdminServer::start();
    let user = server.create_user(json!({"username": "fay", "email": "fay@example.com"}));
    let before = Snapshot::take(&server);
    for body in [
        json!({"state": "ACTIVATED", "suspended": true}),
        json!({"state": "SUSPENDED", "suspended": false}),
    ] {
        assert_refused(
            &server,
            server.put(&user_path(&user), body),
            "contradicts",
            &before,
        );
    }
    let (_, suspended) = server.put(&user_path(&user), json!({"suspended": true}));
    assert_eq!(
        (&suspended["state"], &suspended["suspended"]),
        (&json!("SUSPENDED"), &json!(true))
    );
    let (_, back) = server.put(&user_path(&user), json!({"suspended": false}));
    assert_eq!(
        (&back["state"], &back["suspended"]),
        (&json!("ACTIVATED"), &json!(false))
    );
    let (_, agreed) = server.put(
        &user_path(&user),
        json!({"state": "SUSPENDED", "suspended": true}),
    );
    assert_eq!(agreed["state"], "SUSPENDED");
}

// 6 and passwords: activated is the password status; policy; password_expired; the hash is
// never returned; user_password_set is recorded.
#[test]
fn passwords_are_checked_hashed_and_reported_as_activated() {
    let server = AdminServer::start();
    let before = Snapshot::take(&server);
    let (status, error) = server.post(
        "/api/systemusers",
        json!({"username": "gus", "email": "gus@example.com", "password": "short"}),
    );
    assert_eq!(status, 400);
    let message = error["message"].as_str().expect("message");
    for missing in ["at least 12 characters", "an upper-case letter", "a digit"] {
        assert!(message.contains(missing), "{message}");
    }
    assert_eq!(Snapshot::take(&server), before);

    let staged = server.create_user(json!({
        "username": "gus", "email": "gus@example.com", "state": "STAGED",
        "password": "Tr0ub4dour-horse", "password_expired": true
    }));
    assert_eq!(staged["state"], "STAGED");
    assert_eq!(
        staged["activated"], true,
        "6: a staged user can have a password"
    );
    assert_eq!(staged["password_expired"], true);
    assert!(staged["password_date"].is_string());
    assert_eq!(
        server.event_types(&id(&staged)),
        ["user_create", "user_password_set"]
    );
    assert!(!staged.to_string().contains("argon2"), "{staged}");

    let plain = server.create_user(json!({"username": "hal", "email": "hal@example.com"}));
    assert_eq!(plain["activated"], false);
    let (status, reset) = server.put(
        &user_path(&plain),
        json!({"password": "An0ther-long-one", "password_expired": false}),
    );
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["activated"], true);
    assert_eq!(reset["password_expired"], false);
    assert_eq!(
        server.event_types(&id(&plain)),
        ["user_create", "user_password_set"]
    );
    let (_, expired) = server.put(
        &user_path(&plain),
        json!({"password_expired": true, "jobTitle": "Engineer"}),
    );
    assert_eq!(expired["password_expired"], true);
    assert_eq!(expired["jobTitle"], "Engineer");
    // 26: a profile edit is one user_update listing the changed fields.
    let update = server.events_for(&id(&plain)).pop().expect("events");
    assert_eq!(update.event_type, "user_update");
    for field in ["\"field\":\"jobTitle\"", "\"field\":\"password_expired\""] {
        assert!(update.details.contains(field), "{}", update.details);
    }
    let audit = server.audit_count();
    server.put(&user_path(&plain), json!({"jobTitle": "Engineer"}));
    assert_eq!(
        server.audit_count(),
        audit,
        "26: a no-op edit writes nothing"
    );

    let before = Snapshot::take(&server);
    assert_refused(
        &server,
        server.put(&user_path(&plain), json!({"password": "nouppercase123"})),
        "an upper-case letter",
        &before,
    );
    let log = server.server.raw_log().join("\n");
    assert!(
        !log.contains("argon2") && !log.contains("Tr0ub4dour"),
        "secrets in the log"
    );
    assert_eq!(
        server.pending_email_count() + server.email_count(),
        0,
        "8: no mail for password sets"
    );
}

// 10: the Samba service account is never suspended, by any path of the admin API.
#[test]
fn the_samba_service_account_cannot_be_suspended() {
    let server = AdminServer::start();
    let samba = server.create_user(
        json!({"username": "samba", "email": "samba@example.com", "samba_service_user": true}),
    );
    let before = Snapshot::take(&server);
    for body in [
        json!({"state": "SUSPENDED"}),
        json!({"suspended": true}),
        json!({"state": "SUSPENDED", "suspended": true, "department": "IT"}),
    ] {
        assert_refused(
            &server,
            server.put(&user_path(&samba), body),
            "Samba service account cannot be suspended",
            &before,
        );
    }
    assert_refused(
        &server,
        server.post("/api/systemusers", json!({"username": "samba2", "email": "s@example.com", "samba_service_user": true, "state": "SUSPENDED"})),
        "Samba",
        &before,
    );
    let suspended = server
        .create_user(json!({"username": "sus", "email": "sus@example.com", "state": "SUSPENDED"}));
    let before = Snapshot::take(&server);
    assert_refused(
        &server,
        server.put(&user_path(&suspended), json!({"samba_service_user": true})),
        "Samba",
        &before,
    );
}

// 11, 24 (manager part), 26: delete with manager cascade; refusals delete nothing.
#[test]
fn deleting_a_manager_clears_or_repoints_reports() {
    let server = AdminServer::start();
    let boss = server.create_user(json!({"username": "boss", "email": "boss@example.com"}));
    let deputy = server.create_user(json!({"username": "deputy", "email": "deputy@example.com"}));
    let report = server
        .create_user(json!({"username": "report", "email": "r@example.com", "manager": id(&boss)}));
    assert_eq!(report["manager"], id(&boss).as_str());

    let before = Snapshot::take(&server);
    let unknown = "0190a0a0-0000-7000-8000-000000000000";
    for (query, needle) in [
        (format!("?cascade_manager={unknown}"), "cascade_manager"),
        (format!("?cascade_manager={}", id(&boss)), "being deleted"),
        ("?cascade_manager=bob".to_owned(), "cascade_manager"),
    ] {
        let outcome = server.call("DELETE", &format!("{}{query}", user_path(&boss)), None);
        assert_refused(&server, outcome, needle, &before);
    }

    let (status, deleted) = server.call(
        "DELETE",
        &format!("{}?cascade_manager={}", user_path(&boss), id(&deputy)),
        None,
    );
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(server.get(&user_path(&boss)).0, 404);
    assert_eq!(
        server.get(&user_path(&report)).1["manager"],
        id(&deputy).as_str()
    );
    let delete_event = server.events_for(&id(&boss)).pop().expect("events");
    assert_eq!(delete_event.event_type, "user_delete");
    assert!(
        !delete_event.details.contains("state"),
        "{}",
        delete_event.details
    );

    let (status, _) = server.call(
        "DELETE",
        &format!("{}?cascade_manager=null", user_path(&deputy)),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(server.get(&user_path(&report)).1["manager"], Value::Null);
    let (_, list) = server.get("/api/systemusers");
    assert_eq!(list["totalCount"], 1, "deleted users are not listed");
    assert_eq!(server.call("DELETE", &user_path(&deputy), None).0, 404);

    // With no cascade_manager at all, the reports' manager is cleared too (JumpCloud's default).
    let lead = server.create_user(json!({"username": "lead", "email": "lead@example.com"}));
    let (status, _) = server.call(
        "PUT",
        &user_path(&report),
        Some(json!({"manager": id(&lead)})),
    );
    assert_eq!(status, 200);
    assert_eq!(
        server.get(&user_path(&report)).1["manager"],
        id(&lead).as_str()
    );
    assert_eq!(server.call("DELETE", &user_path(&lead), None).0, 200);
    assert_eq!(server.get(&user_path(&report)).1["manager"], Value::Null);
}

// Bulk delete: the stated count must match; otherwise nothing is deleted.
#[test]
fn bulk_delete_refuses_a_miscounted_request() {
    let server = AdminServer::start();
    let ids: Vec<String> = (0..3)
        .map(|n| {
            id(&server.create_user(json!({"username": format!("b{n}"), "email": "b@example.com"})))
        })
        .collect();
    let before = Snapshot::take(&server);
    let unknown = "0190a0a0-0000-7000-8000-000000000000".to_owned();
    for (body, needle) in [
        (
            json!({"user_ids": ids, "expected_count": 2}),
            "expected_count",
        ),
        (
            json!({"user_ids": [ids[0], ids[0]], "expected_count": 2}),
            "more than once",
        ),
        (
            json!({"user_ids": [ids[0], unknown], "expected_count": 2}),
            "no user has id",
        ),
        (json!({"user_ids": [], "expected_count": 0}), "user_ids"),
        (json!({"user_ids": ids}), "expected_count"),
    ] {
        assert_refused(
            &server,
            server.post("/api/systemusers/bulk-delete", body),
            needle,
            &before,
        );
    }
    let (status, outcome) = server.post(
        "/api/systemusers/bulk-delete",
        json!({"user_ids": ids, "expected_count": 3}),
    );
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["deleted_count"], 3);
    assert_eq!(server.get("/api/systemusers").1["totalCount"], 0);
    for id in &ids {
        assert_eq!(
            server.event_types(id).last().map(String::as_str),
            Some("user_delete")
        );
    }
}

// 12: paging defaults, sort, state filter, fields, filter and search.
#[test]
fn lists_page_sort_filter_and_project() {
    let server = AdminServer::start();
    for n in 0..12 {
        let state = if n % 4 == 0 { "STAGED" } else { "ACTIVATED" };
        server.create_user(json!({
            "username": format!("user{n:02}"), "email": format!("user{n:02}@example.com"),
            "state": state, "department": if n < 6 { "Sales" } else { "R&D" }
        }));
    }
    let (status, page) = server.get("/api/systemusers");
    assert_eq!(status, 200);
    assert_eq!(page["totalCount"], 12);
    assert_eq!(
        page["results"].as_array().expect("results").len(),
        10,
        "default limit"
    );
    let (_, rest) = server.get("/api/systemusers?skip=10");
    assert_eq!(rest["results"].as_array().expect("results").len(), 2);

    let (_, sorted) = server.get("/api/systemusers?sort=-username&limit=3&fields=username%20state");
    let names: Vec<&str> = sorted["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|u| u["username"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["user11", "user10", "user09"]);
    let first = sorted["results"][0].as_object().expect("object");
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["_id", "id", "state", "username"]);

    let (_, staged) = server.get("/api/systemusers?state=STAGED");
    assert_eq!(staged["totalCount"], 3);
    let (_, filtered) =
        server.get("/api/systemusers?filter=department:eq:R%26D&filter=state:eq:ACTIVATED");
    assert_eq!(
        filtered["totalCount"], 5,
        "user06..user11 less the staged user08"
    );
    let (_, searched) = server.get("/api/systemusers?search=USER1");
    assert_eq!(searched["totalCount"], 2);
    let (_, suspended) = server.get("/api/systemusers?filter=suspended:eq:true");
    assert_eq!(suspended["totalCount"], 0);

    for (query, needle) in [
        ("limit=1000", "limit"),
        ("sort=shoeSize", "shoeSize"),
        ("filter=username:like:x", "like"),
        ("state=ACTIVE", "state"),
        ("fields=password", "password"),
        ("colour=red", "colour"),
    ] {
        let (status, error) = server.get(&format!("/api/systemusers?{query}"));
        assert_eq!(status, 400, "{query}");
        assert!(
            error["message"].as_str().expect("message").contains(needle),
            "{error}"
        );
    }
}

// The admin API answers unknown ids with 404 and needs a key.
#[test]
fn unknown_users_are_404_and_calls_need_a_key() {
    let server = AdminServer::start();
    assert_eq!(
        server
            .get("/api/systemusers/0190a0a0-0000-7000-8000-000000000000")
            .0,
        404
    );
    assert_eq!(server.get("/api/systemusers/not-an-id").0, 404);
    let response = conformance_tests::client()
        .get(server.server.url("/api/systemusers"))
        .send()
        .expect("request");
    assert_eq!(response.status(), 401);
}

fn scim_token(server: &AdminServer) -> String {
    let output = conformance_tests::roster_command(server.server.workdir.path())
        .args(["token", "issue", "--integration", "okta", "--kind", "okta"])
        .args(["--database-url", &server.database.url])
        .output()
        .expect("roster token issue");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

// 10 (SCIM path, DESIGN.md §1) and 9 (SCIM side): an identity provider cannot suspend the
// Samba service account, and a duplicate employee number is 409 uniqueness; neither changes
// anything.
#[test]
fn scim_cannot_suspend_the_samba_account_or_reuse_an_employee_id() {
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    let server = AdminServer::start();
    let samba = server.create_user(json!({
        "username": "samba", "email": "samba@example.com", "samba_service_user": true,
        "employeeIdentifier": "E7"
    }));
    let token = scim_token(&server);
    let http = conformance_tests::client();
    let before = Snapshot::take(&server);

    let response = http
        .patch(server.server.url(&format!("/scim/v2/Users/{}", id(&samba))))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .json(&json!({"schemas": [PATCH],
                      "Operations": [{"op": "replace", "path": "active", "value": false}]}))
        .send()
        .expect("SCIM PATCH");
    let status = response.status().as_u16();
    let body: Value = response.json().expect("SCIM error");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Samba"),
        "{body}"
    );
    assert_eq!(
        Snapshot::take(&server),
        before,
        "a refusal changed something"
    );

    let response = http
        .post(server.server.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .json(
            &json!({"schemas": [USER, ENTERPRISE], "userName": "other@example.com",
                      "active": true, ENTERPRISE: {"employeeNumber": "E7"}}),
        )
        .send()
        .expect("SCIM create");
    let status = response.status().as_u16();
    let body: Value = response.json().expect("SCIM error");
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["scimType"], "uniqueness", "{body}");
    assert_eq!(
        Snapshot::take(&server),
        before,
        "a refusal changed something"
    );
}

// 4, 11: delete is allowed from every state; the row goes and the event keeps no state.
#[test]
fn users_are_deleted_from_every_state() {
    let server = AdminServer::start();
    for state in ["STAGED", "ACTIVATED", "SUSPENDED"] {
        let user = server.create_user(
            json!({"username": format!("d-{state}"), "email": "d@example.com", "state": state}),
        );
        let (status, deleted) = server.call("DELETE", &user_path(&user), None);
        assert_eq!(status, 200, "{state}: {deleted}");
        assert_eq!(deleted["_id"], user["_id"], "the deleted user is returned");
        assert_eq!(server.get(&user_path(&user)).0, 404, "{state}");
        let event = server.events_for(&id(&user)).pop().expect("events");
        assert_eq!(event.event_type, "user_delete");
        assert!(!event.details.contains("state"), "{}", event.details);
    }
    assert_eq!(server.get("/api/systemusers").1["totalCount"], 0);
    assert!(server.users_snapshot().is_empty());
}
