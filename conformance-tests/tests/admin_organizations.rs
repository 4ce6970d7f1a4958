//! `/api/organizations` and the default state of new users (behaviour 13 of
//! reference/idp-lifecycle.md section (b)).

use conformance_tests::admin::AdminServer;
use serde_json::json;

// 13: all three default to ACTIVATED; each takes ACTIVATED or STAGED; anything else is a 400
// that changes nothing; a change is audited as organization_update.
#[test]
fn the_default_states_are_read_and_changed_in_jumpclouds_shape() {
    let server = AdminServer::start();
    let (status, list) = server.get("/api/organizations");
    assert_eq!(status, 200);
    assert_eq!(list["totalCount"], 1);
    let org = &list["results"][0];
    let id = org["_id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 24, "{id}");
    assert_eq!(
        org["settings"]["newSystemUserStateDefaults"],
        json!({"manualEntry": "ACTIVATED", "csvImport": "ACTIVATED", "applicationImport": "ACTIVATED"})
    );
    let path = format!("/api/organizations/{id}");
    assert_eq!(server.get(&path).1["_id"], id.as_str());

    let audit_before = server.audit_count();
    for (body, needle) in [
        (
            json!({"settings": {"newSystemUserStateDefaults": {"csvImport": "SUSPENDED"}}}),
            "csvImport",
        ),
        (
            json!({"settings": {"newSystemUserStateDefaults": {"manualEntry": "staged"}}}),
            "manualEntry",
        ),
        (
            json!({"settings": {"newSystemUserStateDefaults": {"bulkImport": "STAGED"}}}),
            "bulkImport",
        ),
        (
            json!({"settings": {"passwordPolicy": {}}}),
            "passwordPolicy",
        ),
        (json!({"displayName": "Acme"}), "displayName"),
        (
            json!({"settings": {"newSystemUserStateDefaults": {"manualEntry": "STAGED", "csvImport": 1}}}),
            "csvImport",
        ),
    ] {
        let (status, error) = server.put(&path, body);
        assert_eq!(status, 400, "{error}");
        assert!(
            error["message"].as_str().expect("message").contains(needle),
            "{error}"
        );
    }
    assert_eq!(
        server.audit_count(),
        audit_before,
        "refusals are not audited"
    );
    assert_eq!(
        server.get(&path).1["settings"],
        org["settings"],
        "nothing changed"
    );

    let (status, changed) = server.put(
        &path,
        json!({"settings": {"newSystemUserStateDefaults": {"manualEntry": "STAGED", "applicationImport": "STAGED"}}}),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["settings"]["newSystemUserStateDefaults"],
        json!({"manualEntry": "STAGED", "csvImport": "ACTIVATED", "applicationImport": "STAGED"})
    );
    let events = server.events_for(&id);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "organization_update");
    assert!(
        events[0]
            .details
            .contains("settings.newSystemUserStateDefaults.manualEntry"),
        "{}",
        events[0].details
    );
    assert_eq!(
        server
            .put(
                &path,
                json!({"settings": {"newSystemUserStateDefaults": {"manualEntry": "STAGED"}}})
            )
            .0,
        200
    );
    assert_eq!(
        server.events_for(&id).len(),
        1,
        "setting the current value writes nothing"
    );
    assert_eq!(
        server.get("/api/organizations/000000000000000000000000").0,
        404
    );
}

// 14: a SCIM create takes manualEntry like a single admin create, with the setting flipped both
// ways; active:false and the lifecycle extension's state beat it (15, DESIGN.md §2).
#[test]
fn scim_creates_follow_the_manual_entry_default() {
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
    let server = AdminServer::start();
    let output = conformance_tests::roster_command(server.server.workdir.path())
        .args(["token", "issue", "--integration", "okta", "--kind", "okta"])
        .args(["--database-url", &server.database.url])
        .output()
        .expect("roster token issue");
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    let http = conformance_tests::client();
    let scim_create = |user: serde_json::Value| -> serde_json::Value {
        let response = http
            .post(
                server
                    .server
                    .url(&format!("/scim/v2/Users?attributes={ROSTER}:state")),
            )
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .json(&user)
            .send()
            .expect("SCIM create");
        assert_eq!(response.status().as_u16(), 201);
        response.json().expect("json")
    };
    let state_of = |user: &serde_json::Value| user[ROSTER]["state"].clone();
    let set_manual_entry = |value: &str| {
        let (_, orgs) = server.get("/api/organizations");
        let org = orgs["results"][0]["_id"]
            .as_str()
            .expect("org id")
            .to_owned();
        let (status, body) = server.put(
            &format!("/api/organizations/{org}"),
            json!({"settings": {"newSystemUserStateDefaults": {"manualEntry": value}}}),
        );
        assert_eq!(status, 200, "{body}");
    };
    let plain = |name: &str| json!({"schemas": [USER], "userName": name, "active": true});

    assert_eq!(
        state_of(&scim_create(plain("first@example.com"))),
        "ACTIVATED"
    );
    set_manual_entry("STAGED");
    assert_eq!(
        state_of(&scim_create(plain("second@example.com"))),
        "STAGED"
    );
    let inactive = json!({"schemas": [USER], "userName": "third@example.com", "active": false});
    assert_eq!(state_of(&scim_create(inactive)), "SUSPENDED");
    let mut explicit = plain("fourth@example.com");
    explicit["schemas"] = json!([USER, ROSTER]);
    explicit[ROSTER] = json!({"state": "ACTIVATED"});
    assert_eq!(state_of(&scim_create(explicit)), "ACTIVATED");
    set_manual_entry("ACTIVATED");
    assert_eq!(
        state_of(&scim_create(plain("fifth@example.com"))),
        "ACTIVATED"
    );
}
