//! `active` mapped onto the lifecycle under each integration's policy (DESIGN.md §6,
//! behaviours 43–50), on PostgreSQL as well as SQLite.

use conformance_tests::postgres::TestDatabase;
use serde_json::json;

use super::{ROSTER, Scim, id_of, okta_user};

fn state(scim: &Scim, id: &str) -> String {
    scim.get(&format!("/Users/{id}")).body[ROSTER]["state"]
        .as_str()
        .expect("state")
        .to_owned()
}

fn log_count(scim: &Scim, message: &str) -> usize {
    scim.server
        .log_lines()
        .iter()
        .filter(|line| line["message"] == message)
        .count()
}

fn lifecycle_rules_hold(scim: &Scim) {
    // Creation: active:false makes a suspended user; the extension's state beats everything.
    let suspended = scim.create_user("created.inactive@example.com", false);
    assert_eq!(suspended[ROSTER]["state"], "SUSPENDED");
    let mut staged = okta_user("created.staged@example.com", true);
    staged[ROSTER] = json!({"state": "STAGED"});
    let staged = scim.post("/Users", &staged);
    assert_eq!(staged.status, 201, "{staged:?}");
    assert_eq!(staged.body[ROSTER]["state"], "STAGED");
    assert_eq!(staged.body["active"], false);
    assert_eq!(
        staged.body[ROSTER]["passwordStatus"], "PENDING",
        "behaviour 47"
    );
    let staged_id = id_of(&staged.body);

    // active:false on a staged user: stays staged (DESIGN.md §6).
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    );
    assert_eq!(reply.body[ROSTER]["state"], "STAGED");

    // active:true on a staged user without the permission: 200, state kept, refusal audited.
    let events = scim.audit_events();
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "path": "active", "value": true}]),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body[ROSTER]["state"], "STAGED");
    assert_eq!(
        scim.audit_events(),
        events + 1,
        "one user_state_change_refused event"
    );
    assert_eq!(log_count(scim, "state change refused"), 1);

    // With the permission, the same request activates.
    let output = scim.cli(&[
        "token",
        "policy",
        "--integration",
        "okta",
        "--may-activate-staged",
        "true",
    ]);
    assert!(output.status.success(), "{output:?}");
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "path": "active", "value": true}]),
    );
    assert_eq!(reply.body[ROSTER]["state"], "ACTIVATED");

    // A suspension made by another integration is not lifted ...
    let entra = scim.issue("entra", Some("entra"), false);
    let suspend = json!({"schemas": [super::PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let reply = scim.send_as(
        Some(&entra),
        reqwest::Method::PATCH,
        &format!("/Users/{staged_id}"),
        Some(&suspend),
        &[],
    );
    assert_eq!(reply.body[ROSTER]["state"], "SUSPENDED", "{reply:?}");
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body[ROSTER]["state"], "SUSPENDED");
    assert_eq!(log_count(scim, "state change refused"), 2);
    // ... unless the integration may lift any suspension.
    scim.cli(&[
        "token",
        "policy",
        "--integration",
        "okta",
        "--may-lift-any-suspension",
        "true",
    ]);
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    );
    assert_eq!(reply.body[ROSTER]["state"], "ACTIVATED");

    // PUT without active leaves the state alone; PUT with active:false suspends (behaviour 50).
    let mut full = scim.get(&format!("/Users/{staged_id}")).body;
    full.as_object_mut().expect("object").remove("active");
    full.as_object_mut().expect("object").remove(ROSTER);
    full["title"] = json!("Put without active");
    let reply = scim.put(&format!("/Users/{staged_id}"), &full);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body[ROSTER]["state"], "ACTIVATED");
    full["active"] = json!(false);
    let reply = scim.put(&format!("/Users/{staged_id}"), &full);
    assert_eq!(reply.body[ROSTER]["state"], "SUSPENDED");
    assert_eq!(state(scim, &staged_id), "SUSPENDED");
    let changed = scim
        .server
        .log_lines()
        .into_iter()
        .rfind(|l| l["message"] == "user state changed")
        .expect("log");
    assert_eq!(
        changed["source"], "scim:okta",
        "the integration is the recorded source: {changed}"
    );

    // DELETE suspends when the integration says so, deletes by default (behaviour 49).
    let kept = id_of(&scim.create_user("kept@example.com", true));
    scim.cli(&[
        "token",
        "policy",
        "--integration",
        "okta",
        "--delete-action",
        "suspend",
    ]);
    assert_eq!(scim.delete(&format!("/Users/{kept}")).status, 204);
    assert_eq!(state(scim, &kept), "SUSPENDED");
    scim.cli(&[
        "token",
        "policy",
        "--integration",
        "okta",
        "--delete-action",
        "delete",
    ]);
    assert_eq!(scim.delete(&format!("/Users/{kept}")).status, 204);
    scim.get(&format!("/Users/{kept}")).assert_error(404, None);
}

#[test]
fn active_follows_the_integration_policy_on_sqlite() {
    lifecycle_rules_hold(&Scim::start());
}

#[test]
fn active_follows_the_integration_policy_on_postgres() {
    let database = TestDatabase::create();
    lifecycle_rules_hold(&Scim::start_with(&["--database-url", &database.url]));
}
