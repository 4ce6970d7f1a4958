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
