//! What an identity provider sends comes back as sent (name.formatted, email labels and
//! primary flags), passwords are synced (behaviour 48), the lifecycle extension shows pending
//! schedules, and its read-only attributes refuse changes without changing anything.

use serde_json::json;

use super::{ENTERPRISE, ROSTER, Scim, USER, id_of, urlencode};

fn user_with_two_addresses(user_name: &str) -> serde_json::Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"formatted": "Dr. Ada King", "givenName": "Ada", "familyName": "King"},
        "emails": [
            {"value": "ada@home.example", "type": "home", "primary": true},
            {"value": "ada@work.example", "type": "work"},
        ],
        "active": true,
    })
}

#[test]
fn names_and_email_labels_come_back_as_sent_and_filter() {
    let scim = Scim::start();
    let created = scim.post("/Users", &user_with_two_addresses("ada.king"));
    assert_eq!(created.status, 201, "{created:?}");
    let id = id_of(&created.body);
    let user = scim.get(&format!("/Users/{id}")).body;
    assert_eq!(user["name"]["formatted"], "Dr. Ada King");
    assert_eq!(
        user["emails"],
        json!([
            {"value": "ada@home.example", "type": "home", "primary": true},
            {"value": "ada@work.example", "type": "work", "primary": false},
        ])
    );
    assert_eq!(scim.lifecycle(&id)["alternateEmail"], "ada@work.example");

    // Labels are searchable, case-insensitively, and a wrong label finds nothing.
    let found = scim.get(
        "/Users?filter=emails%5Btype%20eq%20%22HOME%22%5D.value%20eq%20%22ada%40home.example%22",
    );
    assert_eq!(found.body["totalResults"], 1, "{found:?}");
    let none =
        scim.get("/Users?filter=emails%5Btype%20eq%20%22work%22%20and%20primary%20eq%20true%5D");
    assert_eq!(none.body["totalResults"], 0, "{none:?}");

    // A single address sent without primary stays non-primary; the built name is used when
    // no formatted one was sent.
    let reply = scim.put(
        &format!("/Users/{id}"),
        &json!({
            "schemas": [USER],
            "userName": "ada.king",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@work.example", "type": "work", "primary": false}],
        }),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["name"]["formatted"], "Ada Lovelace");
    assert_eq!(
        reply.body["emails"],
        json!([{"value": "ada@work.example", "type": "work", "primary": false}])
    );
    assert!(reply.body[ROSTER].get("alternateEmail").is_none());
}

#[test]
fn the_enterprise_division_is_kept_filtered_and_patched() {
    let scim = Scim::start();
    let mut user = user_with_two_addresses("ada.division");
    user["schemas"] = json!([USER, ENTERPRISE]);
    user[ENTERPRISE] = json!({"division": "Engines", "department": "Research"});
    let created = scim.post("/Users", &user);
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body[ENTERPRISE]["division"], "Engines");
    let id = id_of(&created.body);

    let found = scim.get("/Users?filter=urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Aextension%3Aenterprise%3A2.0%3AUser%3Adivision%20eq%20%22engines%22");
    assert_eq!(found.body["totalResults"], 1, "{found:?}");

    // Entra's form: a pathless replace keyed by the URN-qualified attribute.
    let reply = scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "value": {format!("{ENTERPRISE}:division"): "Looms"}}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body[ENTERPRISE]["division"], "Looms");
    assert_eq!(reply.body[ENTERPRISE]["department"], "Research");
    let reply = scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "remove", "path": format!("{ENTERPRISE}:division")}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.body[ENTERPRISE].get("division").is_none(),
        "{reply:?}"
    );
    let schemas = scim.get(&format!("/Schemas/{ENTERPRISE}")).body;
    assert!(
        schemas["attributes"]
            .as_array()
            .is_some_and(|attributes| attributes.iter().any(|a| a["name"] == "division")),
        "{schemas}"
    );
}

#[test]
fn read_only_lifecycle_attributes_refuse_changes_and_change_nothing() {
    let scim = Scim::start();
    let created = scim.create_user("grace@example.com", true);
    let id = id_of(&created);
    let path = format!("/Users/{id}");
    let events = scim.audit_events();
    for (operation, scim_type) in [
        (
            json!({"op": "replace", "path": format!("{ROSTER}:alternateEmail"), "value": "g@example.com"}),
            "mutability",
        ),
        (
            json!({"op": "replace", "path": format!("{ROSTER}:sambaServiceUser"), "value": true}),
            "mutability",
        ),
        (
            json!({"op": "replace", "path": format!("{ROSTER}:state"), "value": "STAGED"}),
            "mutability",
        ),
        (
            json!({"op": "replace", "path": format!("{ROSTER}:passwordStatus"), "value": "EXPIRED"}),
            "mutability",
        ),
        (json!({"op": "remove", "path": "active"}), "invalidValue"),
    ] {
        let reply = scim.patch(&path, json!([operation]));
        reply.assert_error(400, Some(scim_type));
    }
    let after = scim.get(&format!("{path}?attributes={ROSTER}")).body;
    assert_eq!(
        after["meta"],
        json!(null),
        "only what was asked for: {after}"
    );
    assert_eq!(after[ROSTER]["state"], "ACTIVATED");
    assert_eq!(after[ROSTER]["sambaServiceUser"], false);
    let unchanged = scim.get(&path).body;
    assert_eq!(unchanged["meta"]["version"], created["meta"]["version"]);
    assert_eq!(scim.audit_events(), events, "refusals write no audit event");

    // A PUT that sends a different state is not a way around `active` either; the state it
    // named comes back in the response.
    let mut full = unchanged.clone();
    full[ROSTER] = json!({"state": "SUSPENDED"});
    let reply = scim.put(&path, &full);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body[ROSTER], json!({"state": "ACTIVATED"}));
}

#[test]
fn the_location_is_written_filtered_and_cleared_through_the_extension() {
    let scim = Scim::start();
    let created = scim.create_user("hedy@example.com", true);
    let id = id_of(&created);
    let path = format!("/Users/{id}");
    assert!(
        created.get(ROSTER).is_none(),
        "nothing of the extension is returned by default when no location is set: {created}"
    );

    // The extension as a whole, as a client that PATCHes it sends it: what comes back is
    // exactly what was sent.
    let reply = scim.patch(
        &path,
        json!([{"op": "replace", "path": ROSTER, "value": {"location": "Berlin office"}}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body[ROSTER], json!({"location": "Berlin office"}));
    assert_eq!(
        scim.get(&path).body[ROSTER],
        json!({"location": "Berlin office"})
    );
    let found = scim.get(&format!(
        "/Users?filter={}",
        urlencode(&format!("{ROSTER}:location co \"berlin\""))
    ));
    assert_eq!(found.body["totalResults"], 1, "{found:?}");
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());

    // It is the admin API's location.
    let shown = scim.cli(&["user", "show", &id]);
    assert!(shown.status.success(), "{shown:?}");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(shown["location"], "Berlin office", "{shown}");

    // Removing the extension clears the location, and the extension leaves the response.
    let reply = scim.patch(&path, json!([{"op": "remove", "path": ROSTER}]));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.get(ROSTER).is_none(), "{reply:?}");
    assert!(scim.lifecycle(&id).get("location").is_none());
}

#[test]
fn synced_passwords_are_stored_hashed_and_recorded() {
    let scim = Scim::start();
    // Okta's create sends a password that Roster's own policy would refuse: the identity
    // provider's policy governs it.
    let created = scim.create_user("linus@example.com", true);
    assert_eq!(
        scim.lifecycle(&id_of(&created))["passwordStatus"],
        "SET",
        "{created}"
    );
    assert!(created.get("password").is_none(), "returned: never");

    let mut staged = super::okta_user("staged.sync@example.com", true);
    staged.as_object_mut().expect("object").remove("password");
    staged[ROSTER] = json!({"state": "STAGED"});
    let staged = scim.post("/Users", &staged);
    assert_eq!(staged.status, 201, "{staged:?}");
    let id = id_of(&staged.body);
    assert_eq!(scim.lifecycle(&id)["passwordStatus"], "PENDING");
    let events = scim.audit_events();
    // Okta's password sync: a pathless replace.
    let reply = scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"password": "Synced-Pass-2026"}}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let lifecycle = scim.lifecycle(&id);
    assert_eq!(lifecycle["passwordStatus"], "SET");
    assert_eq!(lifecycle["state"], "STAGED", "a staged user stays staged");
    // The profile is unchanged, so the one event is user_password_set.
    assert_eq!(scim.audit_events(), events + 1);
    let log = scim.server.raw_log().join("\n");
    assert!(
        !log.contains("Synced-Pass-2026"),
        "passwords never reach the log"
    );

    let refused = scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "password", "value": 42}]),
    );
    refused.assert_error(400, Some("invalidValue"));
}

#[test]
fn pending_schedules_show_in_the_lifecycle_extension() {
    let scim = Scim::start();
    let created = scim.create_user("ken@example.com", true);
    let id = id_of(&created);
    assert_eq!(scim.lifecycle(&id)["scheduledStateChanges"], json!([]));
    let at = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    let added = scim.cli(&[
        "schedule",
        "add",
        "--user",
        "ken@example.com",
        "--state",
        "SUSPENDED",
        "--at",
        &at,
    ]);
    assert!(added.status.success(), "{added:?}");
    let run_at = String::from_utf8(added.stdout).expect("utf-8");
    let run_at = run_at.trim().split('\t').nth(3).expect("run_at").to_owned();
    let run_at: chrono::DateTime<chrono::Utc> = run_at.parse().expect("a time");
    let asked = format!("attributes={ROSTER}:scheduledStateChanges");
    let plain = scim.get(&format!("/Users/{id}")).body;
    assert!(plain.get(ROSTER).is_none(), "returned on request: {plain}");
    for body in [
        scim.get(&format!("/Users/{id}?{asked}")).body,
        scim.get(&format!(
            "/Users?filter=userName%20eq%20%22ken%40example.com%22&{asked}"
        ))
        .body["Resources"][0]
            .clone(),
    ] {
        let changes = body[ROSTER]["scheduledStateChanges"]
            .as_array()
            .expect("a list")
            .clone();
        assert_eq!(changes.len(), 1, "{body}");
        assert_eq!(changes[0]["state"], "SUSPENDED");
        let shown: chrono::DateTime<chrono::Utc> = changes[0]["runAt"]
            .as_str()
            .expect("runAt")
            .parse()
            .expect("a time");
        assert_eq!(shown, run_at);
    }
}
