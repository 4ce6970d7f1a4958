//! Outbound SCIM between two running servers: one Roster provisions a SCIM app that is another
//! Roster (`roster serve` with its own data directory and a token from `roster token issue
//! --integration downstream --kind generic`). Each lifecycle step goes through the first
//! server's admin API, its own dispatcher carries it out, and the result is read back through
//! the second server's SCIM API.

use chrono::Utc;
use conformance_tests::admin::AdminServer;
use serde_json::{Value, json};

use crate::scim::Scim;

/// The downstream's user with this userName, through its SCIM API.
fn find(downstream: &Scim, token: &str, user_name: &str) -> Option<Value> {
    let filter = format!("userName eq \"{user_name}\"");
    let reply = downstream.send_as(
        Some(token),
        reqwest::Method::GET,
        &format!(
            "/Users?filter={}",
            filter.replace(' ', "%20").replace('"', "%22")
        ),
        None,
        &[],
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let found = reply.body["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(found.len() <= 1, "{reply:?}");
    found.into_iter().next()
}

#[test]
fn a_user_lifecycle_reaches_a_downstream_roster_over_scim() {
    let downstream = Scim::start();
    let token = downstream.issue("downstream", Some("generic"), false);
    let server = AdminServer::start();
    let (status, app) = server.post(
        "/api/v2/resources",
        json!({
            "name": "downstream roster", "type": "scim_app",
            "url": downstream.server.url("/scim/v2"), "secret": token,
        }),
    );
    assert_eq!(status, 201, "{app}");
    assert!(!app.to_string().contains(&token), "the token is write-only");
    let app_id = app["id"].as_str().expect("resource id").to_owned();

    let username = format!("bb{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let user = server.create_user(json!({
        "username": username, "email": format!("{username}@corp.example"),
        "firstname": "Mary", "lastname": "Jackson", "state": "STAGED",
    }));
    let user_id = user["_id"].as_str().expect("_id").to_owned();
    let (status, body) = server.post(
        &format!("/api/v2/resources/{app_id}/associations"),
        json!({ "op": "add", "type": "user", "id": user_id }),
    );
    assert_eq!(status, 204, "{body}");
    server.wait_for_provisioning();
    assert_eq!(
        find(&downstream, &token, &username),
        None,
        "staged: nothing sent"
    );

    let set_state = |state: &str| {
        let (status, body) = server.put(
            &format!("/api/systemusers/{user_id}"),
            json!({ "state": state }),
        );
        assert_eq!(status, 200, "{state}: {body}");
        server.wait_for_provisioning();
    };
    set_state("ACTIVATED");
    let remote = find(&downstream, &token, &username).expect("activated: present");
    assert_eq!(remote["active"], true, "{remote}");
    assert_eq!(remote["externalId"], user_id.as_str());
    assert_eq!(remote["name"]["familyName"], "Jackson");
    let remote_id = remote["id"].as_str().expect("id").to_owned();

    set_state("SUSPENDED");
    let remote = find(&downstream, &token, &username).expect("suspended: kept");
    assert_eq!(remote["active"], false, "{remote}");

    set_state("ACTIVATED");
    let remote = find(&downstream, &token, &username).expect("reactivated");
    assert_eq!(remote["active"], true, "{remote}");
    assert_eq!(remote["id"], remote_id.as_str(), "the same account");

    // A scheduled suspension reaches the app as a manual one does (behaviour 19): scheduled
    // two hours ahead, made due in the database, fired by one scheduler step.
    let (status, scheduled) = server.post(
        "/api/v2/bulk/userstates",
        json!({
            "user_ids": [user_id], "state": "SUSPENDED",
            "start_date": (Utc::now() + chrono::Duration::hours(2)).to_rfc3339(),
        }),
    );
    assert_eq!(status, 201, "{scheduled}");
    server.make_schedule_due(scheduled[0]["scheduledJobId"].as_str().expect("job id"));
    let step = server.run_scheduler_at(Utc::now());
    assert_eq!(step["changed"], 1, "{step}");
    server.wait_for_provisioning();
    let remote = find(&downstream, &token, &username).expect("suspended by the schedule: kept");
    assert_eq!(remote["active"], false, "{remote}");
    set_state("ACTIVATED");

    let (status, body) = server.put(
        &format!("/api/systemusers/{user_id}"),
        json!({ "jobTitle": "Aerospace Engineer", "department": "Langley" }),
    );
    assert_eq!(status, 200, "{body}");
    server.wait_for_provisioning();
    let remote = find(&downstream, &token, &username).expect("changed");
    assert_eq!(remote["title"], "Aerospace Engineer", "{remote}");
    assert_eq!(
        remote["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Langley"
    );

    let (status, body) = server.call("DELETE", &format!("/api/systemusers/{user_id}"), None);
    assert_eq!(status, 200, "{body}");
    server.wait_for_provisioning();
    assert_eq!(find(&downstream, &token, &username), None, "deleted: gone");
    let created = server
        .events_for(&user_id)
        .into_iter()
        .find(|e| e.event_type == "user_create_provision")
        .expect("user_create_provision");
    let details: Value = serde_json::from_str(&created.details).expect("JSON details");
    assert_eq!(details["success"], true, "{details}");
    assert_eq!(details["idm_client_id"], app_id.as_str(), "{details}");
    let events = server.event_types(&user_id);
    for expected in [
        "user_create_provision",
        "user_deprovision",
        "user_update_provision",
        "user_delete_provision",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} in {events:?}"
        );
    }
    assert!(
        server
            .server
            .raw_log()
            .iter()
            .all(|line| !line.contains(&token)),
        "the token is never logged"
    );
}
