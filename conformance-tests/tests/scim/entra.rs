//! The request shapes Microsoft Entra ID sends, legacy and with `aadOptscim062020`.

use serde_json::json;

use super::{ENTERPRISE, Scim, USER, id_of, urlencode};

fn entra_user(user_name: &str) -> serde_json::Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": "E-100", "department": "Sales"},
    })
}

#[test]
fn entra_test_connection_and_queries_find_users_by_its_joining_attributes() {
    let scim = Scim::start();
    // Test Connection: a random filter, answered with an empty list (behaviour 51).
    let reply =
        scim.get("/Users?filter=userName%20eq%20%22f4f7a7e1-3d66-4c0e-9d8b-2a5b3c1d9e0f%22");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["totalResults"], 0);
    let reply =
        scim.get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22random%22");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["Resources"], json!([]));

    let created = scim.post("/Users", &entra_user("Test_User_ab6490ee@testuser.com"));
    assert_eq!(created.status, 201, "{created:?}");
    let id = id_of(&created.body);
    assert_eq!(created.body[ENTERPRISE]["employeeNumber"], "E-100");

    for filter in [
        "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
        "emails[type eq \"work\"].value eq \"test_user_ab6490ee@testuser.com\"",
        "userName eq \"Test_User_ab6490ee@testuser.com\" and externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
        &format!("{ENTERPRISE}:employeeNumber eq \"E-100\""),
    ] {
        let reply = scim.get(&format!("/Users?filter={}", urlencode(filter)));
        assert_eq!(reply.status, 200, "{filter}: {reply:?}");
        assert_eq!(reply.body["totalResults"], 1, "{filter}");
        assert_eq!(reply.body["Resources"][0]["id"], id.as_str());
    }
}

#[test]
fn entra_legacy_and_new_patch_forms_have_the_same_effect() {
    let scim = Scim::start();
    let legacy = id_of(&scim.create_user("legacy@contoso.com", true));
    let current = id_of(&scim.create_user("current@contoso.com", true));

    // Multi-attribute replace: one op per path (legacy) ...
    let reply = scim.patch(&format!("/Users/{legacy}"), json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new.legacy@contoso.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Jensen"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "E-1"},
        {"op": "Add", "path": "title", "value": "Engineer"},
        {"op": "Replace", "path": "userName", "value": "legacy.renamed@contoso.com"},
    ]));
    assert_eq!(reply.status, 200, "{reply:?}");
    // ... and a path op plus one pathless op with dotted and URN-qualified keys (new).
    let reply2 = scim.patch(&format!("/Users/{current}"), json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new.current@contoso.com"},
        {"op": "replace", "value": {
            "name.familyName": "Jensen",
            format!("{ENTERPRISE}:employeeNumber"): "E-2",
            "title": "Engineer",
            "urn:example:unknown:2.0:User:shoeSize": "44",
        }},
    ]));
    assert_eq!(reply2.status, 200, "{reply2:?}");
    for (body, email, number) in [
        (&reply.body, "new.legacy@contoso.com", "E-1"),
        (&reply2.body, "new.current@contoso.com", "E-2"),
    ] {
        assert_eq!(body["emails"][0]["value"], email);
        assert_eq!(body["name"]["familyName"], "Jensen");
        assert_eq!(body["title"], "Engineer");
        assert_eq!(body[ENTERPRISE]["employeeNumber"], number);
    }
    assert_eq!(reply.body["userName"], "legacy.renamed@contoso.com");

    // Disable: "False" as a string (legacy) and false (new) (behaviour 36).
    let reply = scim.patch(
        &format!("/Users/{legacy}"),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(reply.body["active"], false, "{reply:?}");
    let reply = scim.patch(
        &format!("/Users/{current}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    );
    assert_eq!(reply.body["active"], false);
    assert_eq!(scim.state(&current), "SUSPENDED");

    // Manager as a bare id.
    let reply = scim.patch(
        &format!("/Users/{current}"),
        json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": legacy}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body[ENTERPRISE]["manager"]["value"], legacy.as_str());

    // Hard delete ⇒ DELETE ⇒ 204, then 404 everywhere (behaviour 49).
    assert_eq!(scim.delete(&format!("/Users/{legacy}")).status, 204);
    scim.get(&format!("/Users/{legacy}"))
        .assert_error(404, None);
    scim.delete(&format!("/Users/{legacy}"))
        .assert_error(404, None);
    scim.patch(
        &format!("/Users/{legacy}"),
        json!([{"op": "replace", "path": "active", "value": true}]),
    )
    .assert_error(404, None);
    let reply = scim.get(&format!("/Users/{current}"));
    assert!(
        reply.body[ENTERPRISE].get("manager").is_none(),
        "the deleted manager is cleared: {reply:?}"
    );
}

#[test]
fn entra_group_member_forms_both_work() {
    let scim = Scim::start();
    let one = id_of(&scim.create_user("one@contoso.com", true));
    let two = id_of(&scim.create_user("two@contoso.com", true));
    let group = scim.post("/Groups", &json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group1DisplayName",
        "meta": {"resourceType": "Group"},
    }));
    assert_eq!(group.status, 201, "{group:?}");
    let path = format!("/Groups/{}", id_of(&group.body));
    let reply = scim.patch(&path, json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": one}, {"$ref": null, "value": two}]}]));
    assert_eq!(reply.status, 200, "{reply:?}");
    // Legacy removal: path "members" with the values listed.
    let reply = scim.patch(
        &path,
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": one}]}]),
    );
    assert_eq!(
        reply.body["members"].as_array().expect("members").len(),
        1,
        "{reply:?}"
    );
    // New removal: a value filter.
    let reply = scim.patch(
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{two}\"]")}]),
    );
    assert_eq!(reply.body["members"], json!([]), "{reply:?}");

    let reply = scim.get(&format!("{path}?excludedAttributes=members"));
    assert_eq!(reply.status, 200);
    assert!(reply.body.get("members").is_none());
    let reply = scim.get(
        "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22group1displayname%22",
    );
    assert_eq!(reply.body["totalResults"], 1);
    assert!(reply.body["Resources"][0].get("members").is_none());
}
