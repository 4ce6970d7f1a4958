//! `active` mapped onto the lifecycle under each integration's policy (DESIGN.md §6,
//! behaviours 43–50), on PostgreSQL as well as SQLite.

use conformance_tests::postgres::TestDatabase;
use serde_json::json;

use super::{ROSTER, Scim, id_of, okta_user};

/// Waits until the server has logged `message` at least `count` times (its log is read by
/// another thread, so a line may arrive just after the response).
fn wait_for_log_count(scim: &Scim, message: &str, count: usize) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let lines: Vec<_> = scim
            .server
            .log_lines()
            .into_iter()
            .filter(|line| line["message"] == message)
            .collect();
        if lines.len() >= count {
            return lines;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{message:?} logged {} times, not {count}",
            lines.len()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn lifecycle_rules_hold(scim: &Scim) {
    // Creation: active:false makes a suspended user; the extension's state beats everything.
    let suspended = scim.create_user("created.inactive@example.com", false);
    assert_eq!(scim.state(&id_of(&suspended)), "SUSPENDED");
    assert!(
        suspended.get(ROSTER).is_none(),
        "the lifecycle facts are returned on request: {suspended}"
    );
    let mut staged = okta_user("created.staged@example.com", true);
    staged[ROSTER] = json!({"state": "STAGED"});
    // Without a password the password stays pending (a sent one is stored: see profile.rs).
    staged.as_object_mut().expect("object").remove("password");
    let staged = scim.post("/Users", &staged);
    assert_eq!(staged.status, 201, "{staged:?}");
    // The state was named in the request, so the response shows it.
    assert_eq!(staged.body[ROSTER], json!({"state": "STAGED"}));
    assert_eq!(staged.body["active"], false);
    let staged_id = id_of(&staged.body);
    assert_eq!(
        scim.lifecycle(&staged_id)["passwordStatus"],
        "PENDING",
        "behaviour 47"
    );

    // active:false on a staged user: stays staged (DESIGN.md §6).
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(scim.state(&staged_id), "STAGED");

    // active:true on a staged user without the permission: 200, state kept, refusal audited.
    let events = scim.audit_events();
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "path": "active", "value": true}]),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(scim.state(&staged_id), "STAGED");
    assert_eq!(
        scim.audit_events(),
        events + 1,
        "one user_state_change_refused event"
    );
    assert_eq!(wait_for_log_count(scim, "state change refused", 1).len(), 1);

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
    assert_eq!(reply.body["active"], true, "{reply:?}");
    assert_eq!(scim.state(&staged_id), "ACTIVATED");

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
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(scim.state(&staged_id), "SUSPENDED");
    let reply = scim.patch(
        &format!("/Users/{staged_id}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(scim.state(&staged_id), "SUSPENDED");
    assert_eq!(wait_for_log_count(scim, "state change refused", 2).len(), 2);
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
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(scim.state(&staged_id), "ACTIVATED");

    // PUT without active leaves the state alone; PUT with active:false suspends (behaviour 50).
    let mut full = scim.get(&format!("/Users/{staged_id}")).body;
    full.as_object_mut().expect("object").remove("active");
    full.as_object_mut().expect("object").remove(ROSTER);
    full["title"] = json!("Put without active");
    let reply = scim.put(&format!("/Users/{staged_id}"), &full);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(scim.state(&staged_id), "ACTIVATED");
    full["active"] = json!(false);
    let reply = scim.put(&format!("/Users/{staged_id}"), &full);
    assert_eq!(reply.body["active"], false, "{reply:?}");
    assert_eq!(scim.state(&staged_id), "SUSPENDED");
    // Activation, the other integration's suspension, the lift, the PUT's suspension: each
    // recorded with the integration that made it.
    let sources: Vec<String> = wait_for_log_count(scim, "user state changed", 4)
        .iter()
        .map(|line| line["source"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        sources,
        ["scim:okta", "scim:entra", "scim:okta", "scim:okta"]
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
    assert_eq!(scim.state(&kept), "SUSPENDED");
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
