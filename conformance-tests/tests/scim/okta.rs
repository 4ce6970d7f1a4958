//! Okta's SCIM 2.0 spec test (OKTA-SPEC steps 1–12) and the OKTA-CRUD flow, replayed step by
//! step with Okta's headers and content types.

use reqwest::Method;
use serde_json::{Value, json};

use super::{ERROR, LIST, Scim, USER, id_of, okta_user};

fn okta(scim: &Scim, method: Method, path: &str, body: Option<&Value>) -> super::Reply {
    // Okta's POST steps send application/json, not application/scim+json (behaviour 34).
    let mut request = conformance_tests::client()
        .request(method, scim.server.url(&format!("/scim/v2{path}")))
        .header("Accept", "application/scim+json")
        .header("User-Agent", "OKTA SCIM Integration")
        .header("Authorization", format!("Bearer {}", scim.token));
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json")
    };
    super::Reply {
        status,
        headers,
        body,
    }
}

fn assert_user_fields(user: &Value) {
    for pointer in [
        "/id",
        "/name/familyName",
        "/name/givenName",
        "/userName",
        "/emails/0/value",
    ] {
        assert!(
            user.pointer(pointer).is_some_and(|v| !v.is_null()),
            "{pointer} missing in {user}"
        );
    }
    assert!(user["active"].is_boolean(), "{user}");
}

#[test]
fn okta_spec_test_steps_pass_in_order() {
    let scim = Scim::start();
    // Behaviour 51: step 1 needs at least one user; the fixture seeds one.
    scim.create_user("seed.user@okta.local", true);

    // 1. GET /Users?count=1&startIndex=1 (behaviour 29)
    let step = okta(&scim, Method::GET, "/Users?count=1&startIndex=1", None);
    assert_eq!(step.status, 200);
    assert_eq!(step.body["schemas"], json!([LIST]));
    for field in ["itemsPerPage", "startIndex", "totalResults"] {
        assert!(
            step.body[field].is_u64(),
            "{field} is an integer: {}",
            step.body
        );
    }
    assert_eq!(step.body["itemsPerPage"], 1);
    let first = &step.body["Resources"][0];
    assert_user_fields(first);

    // 2. GET /Users/{id}
    let id = id_of(first);
    let step = okta(&scim, Method::GET, &format!("/Users/{id}"), None);
    assert_eq!(step.status, 200);
    assert_eq!(step.body["id"], id.as_str());
    assert_user_fields(&step.body);

    // 3 and 5. filter on an unknown userName: 200 with an empty list (behaviour 30)
    let step = okta(
        &scim,
        Method::GET,
        "/Users?filter=userName%20eq%20%22nobody%40okta.local%22&startIndex=1&count=100",
        None,
    );
    assert_eq!(step.status, 200);
    assert_eq!(step.body["totalResults"], 0);
    assert_eq!(step.body["Resources"], json!([]));

    // 4. GET an unknown id (behaviour 31)
    let step = okta(&scim, Method::GET, "/Users/010101001010101", None);
    step.assert_error(404, None);

    // 6. POST a new user with active:true
    let body = okta_user("test.user@okta.local", true);
    let step = okta(&scim, Method::POST, "/Users", Some(&body));
    assert_eq!(step.status, 201, "{step:?}");
    assert_eq!(step.body["active"], true);
    assert_eq!(step.body["userName"], "test.user@okta.local");
    assert_eq!(step.body["name"]["givenName"], "Test");
    assert_eq!(step.body["name"]["familyName"], "User");
    assert!(
        step.body["schemas"]
            .as_array()
            .expect("schemas")
            .contains(&json!(USER))
    );
    let created = id_of(&step.body);
    assert_eq!(
        step.header("location"),
        step.body["meta"]["location"].as_str()
    );
    assert!(
        step.header("location")
            .is_some_and(|l| l.ends_with(&format!("/scim/v2/Users/{created}")))
    );
    assert_eq!(step.body["meta"]["resourceType"], "User");

    // 7. GET the new user
    let step = okta(&scim, Method::GET, &format!("/Users/{created}"), None);
    assert_eq!(step.status, 200);
    assert_eq!(step.body["userName"], "test.user@okta.local");
    assert_eq!(step.body["externalId"], "00ujl29u0le5T6Aj10h7");

    // 8. Repeat the POST: 409 uniqueness, nothing created (behaviour 33)
    let step = okta(&scim, Method::POST, "/Users", Some(&body));
    step.assert_error(409, Some("uniqueness"));
    let shouting = okta_user("TEST.USER@OKTA.LOCAL", true);
    okta(&scim, Method::POST, "/Users", Some(&shouting)).assert_error(409, Some("uniqueness"));
    let all = okta(&scim, Method::GET, "/Users", None);
    assert_eq!(
        all.body["totalResults"], 2,
        "the duplicates created nothing"
    );

    // 9. Case-insensitive userName filter
    let step = okta(
        &scim,
        Method::GET,
        "/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22",
        None,
    );
    assert_eq!(step.status, 200);
    assert_eq!(step.body["totalResults"], 1);
    assert_eq!(step.body["Resources"][0]["id"], created.as_str());

    // 10. GET /Groups
    let step = okta(&scim, Method::GET, "/Groups", None);
    assert_eq!(step.status, 200);
    assert_eq!(step.body["schemas"], json!([LIST]));

    // 11. A request with a credential that is not a token (behaviour 32)
    let step = conformance_tests::client()
        .get(scim.server.url("/scim/v2/Users"))
        .header("Authorization", "non-token")
        .send()
        .expect("request");
    assert_eq!(step.status(), 401);
    let body: Value = step.json().expect("json");
    assert_eq!(body["status"], "401");
    assert_eq!(body["schemas"], json!([ERROR]));
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));

    // 12. GET /Users/00919288221112222
    okta(&scim, Method::GET, "/Users/00919288221112222", None).assert_error(404, None);
}

#[test]
fn okta_crud_deactivation_keeps_the_user_and_its_id() {
    let scim = Scim::start();
    let user = scim.create_user("crud.user@okta.local", true);
    let id = id_of(&user);

    // Profile update by PUT with the full object, active preserved (A8 step 3).
    let mut full = okta(&scim, Method::GET, &format!("/Users/{id}"), None).body;
    full["name"]["givenName"] = json!("Changed");
    let put = okta(&scim, Method::PUT, &format!("/Users/{id}"), Some(&full));
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(put.body["name"]["givenName"], "Changed");
    assert_eq!(put.body["active"], true);

    // Deactivate: pathless replace with an object value (behaviours 37, 43, 45).
    let reply = scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": false}}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["active"], false);
    assert_eq!(scim.state(&id), "SUSPENDED");
    let again = okta(&scim, Method::GET, &format!("/Users/{id}"), None);
    assert_eq!(again.status, 200);
    assert_eq!(again.body["active"], false);
    let found = okta(
        &scim,
        Method::GET,
        "/Users?filter=userName%20eq%20%22crud.user%40okta.local%22",
        None,
    );
    assert_eq!(
        found.body["totalResults"], 1,
        "a suspended user is still found"
    );

    // Reactivate: the suspension came from this integration, so it may lift it (behaviour 44).
    let reply = scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["active"], true);
    assert_eq!(reply.body["id"], id.as_str(), "the same SCIM id");
}

#[test]
fn okta_group_push_creates_renames_and_changes_members() {
    let scim = Scim::start();
    let alice = id_of(&scim.create_user("alice@okta.local", true));
    let bob = id_of(&scim.create_user("bob@okta.local", true));
    let group = scim.post("/Groups", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": []}));
    assert_eq!(group.status, 201, "{group:?}");
    let gid = id_of(&group.body);
    let path = format!("/Groups/{gid}");

    let reply = scim.patch(
        &path,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Platform"}}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["displayName"], "Platform");

    let reply = scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": alice, "display": "alice"}, {"value": bob, "display": "bob"}]}]));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["members"].as_array().expect("members").len(), 2);

    let reply = scim.patch(
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let members: Vec<&str> = reply.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(members, [bob.as_str()]);

    let reply = scim.patch(
        &path,
        json!([{"op": "replace", "path": "members", "value": [{"value": alice}]}]),
    );
    let members: Vec<&str> = reply.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(members, [alice.as_str()]);

    // The user shows the group it is in.
    let user = scim.get(&format!("/Users/{alice}"));
    assert_eq!(user.body["groups"][0]["value"], gid.as_str());
    assert_eq!(user.body["groups"][0]["display"], "Platform");

    // A duplicate display name, in any case (behaviour 40).
    scim.post("/Groups", &json!({"displayName": "PLATFORM"}))
        .assert_error(409, Some("uniqueness"));
    // A member that is no user changes nothing.
    let reply = scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": "0190a0a0-0000-7000-8000-000000000000"}]}]));
    reply.assert_error(400, Some("invalidValue"));

    assert_eq!(scim.delete(&path).status, 204);
    scim.get(&path).assert_error(404, None);
}
