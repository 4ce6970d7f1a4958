//! RFC 7644 rules and Roster's bounds: authentication, errors, paging, ETags, atomic PATCH,
//! projection, discovery and input limits.

use reqwest::Method;
use serde_json::{Value, json};

use super::{LIST, ROSTER, Scim, id_of};

#[test]
fn tokens_are_checked_and_refusals_are_scim_errors() {
    let scim = Scim::start();
    let users = |token: Option<&str>| scim.send_as(token, Method::GET, "/Users", None, &[]);
    assert_eq!(users(Some(&scim.token)).status, 200);
    users(None).assert_error(401, None);
    users(Some("not.a.jwt")).assert_error(401, None);
    // alg none: header {"alg":"none"} and the real token's claims, no signature.
    let claims = scim.token.split('.').nth(1).expect("claims");
    users(Some(&format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}."
    )))
    .assert_error(401, None);
    // A changed signature.
    let mut forged = scim.token.clone();
    let last = forged.pop().expect("char");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    users(Some(&forged)).assert_error(401, None);

    // Revocation takes effect at once.
    let second = scim.issue("okta", None, false);
    assert_eq!(users(Some(&second)).status, 200);
    let output = scim.cli(&["token", "revoke", "--integration", "okta"]);
    assert!(output.status.success(), "{output:?}");
    let reply = users(Some(&second));
    reply.assert_error(401, None);
    assert!(
        reply.body["detail"]
            .as_str()
            .expect("detail")
            .contains("revoked")
    );
    // Reads and writes check the token each their own way; both refuse it.
    let new_user = super::okta_user("after.revocation@example.com", true);
    scim.send_as(Some(&second), Method::POST, "/Users", Some(&new_user), &[])
        .assert_error(401, None);
    assert!(
        !reply.body.to_string().contains(&second),
        "the token is never echoed"
    );
    let log = scim.server.raw_log().join("\n");
    assert!(
        !log.contains(&second) && !log.contains(&scim.token),
        "tokens never reach the log"
    );
    // Revoking again: nothing to revoke, exit code 4.
    assert_eq!(
        scim.cli(&["token", "revoke", "--integration", "okta"])
            .status
            .code(),
        Some(4)
    );
}

#[test]
fn read_only_tokens_cannot_write() {
    let scim = Scim::start();
    let reader = scim.issue("auditor", Some("generic"), true);
    let reply = scim.send_as(Some(&reader), Method::GET, "/Users", None, &[]);
    assert_eq!(reply.status, 200);
    let reply = scim.send_as(
        Some(&reader),
        Method::POST,
        "/Users",
        Some(&super::okta_user("ro@x.com", true)),
        &[],
    );
    reply.assert_error(403, None);
    assert_eq!(scim.get("/Users").body["totalResults"], 0);
}

#[test]
fn paging_returns_every_user_once_in_a_stable_order() {
    let scim = Scim::start();
    let mut created = Vec::new();
    for n in 0..7 {
        let user = scim.create_user(&format!("page{n}@example.com"), n % 2 == 0);
        created.push(id_of(&user));
    }
    // Suspend one: it still appears (behaviour 35).
    scim.patch(
        &format!("/Users/{}", created[0]),
        json!([{"op": "replace", "path": "active", "value": false}]),
    );
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let reply = scim.get(&format!("/Users?startIndex={start}&count=3"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body["totalResults"], 7);
        assert_eq!(reply.body["startIndex"], start);
        let page = reply.body["Resources"]
            .as_array()
            .expect("resources")
            .clone();
        assert_eq!(reply.body["itemsPerPage"], page.len());
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(id_of));
        start += 3;
    }
    assert_eq!(seen, created);
    // Sorting in the database, with the id breaking ties.
    let reply = scim.get("/Users?sortBy=userName&sortOrder=descending&count=2");
    assert_eq!(reply.body["Resources"][0]["userName"], "page6@example.com");
    // count=0 gives only the total; startIndex < 1 counts as 1; a huge count is cut to the limit.
    let reply = scim.get("/Users?count=0");
    assert_eq!(reply.body["totalResults"], 7);
    assert_eq!(reply.body["Resources"], json!([]));
    assert_eq!(
        scim.get("/Users?startIndex=-5&count=1").body["startIndex"],
        1
    );
    assert_eq!(scim.get("/Users?count=100000").body["itemsPerPage"], 7);
    scim.get("/Users?count=many")
        .assert_error(400, Some("invalidValue"));
    scim.get("/Users?sortBy=phoneNumbers")
        .assert_error(400, Some("invalidValue"));
    // .search with the same parameters in a body.
    let reply = scim.post(
        "/Users/.search",
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"page1\"",
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        }),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["totalResults"], 1);
    assert_eq!(
        reply.body["Resources"][0],
        json!({"schemas": reply.body["Resources"][0]["schemas"], "id": created[1], "userName": "page1@example.com"})
    );
    let reply = scim.post(
        "/.search",
        &json!({"filter": "userName sw \"page\" or displayName eq \"x\"", "count": 100}),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["schemas"], json!([LIST]));
    assert_eq!(reply.body["totalResults"], 7);
}

#[test]
fn unsupported_filters_are_invalid_filter_errors_naming_the_problem() {
    let scim = Scim::start();
    for (filter, named) in [
        ("nickName eq \"x\"", "nickName"),
        ("userName eq", "does not parse"),
        ("phoneNumbers[type eq \"work\"]", "phoneNumbers"),
        ("meta.created gt \"last week\"", "RFC 3339"),
    ] {
        let reply = scim.post("/Users/.search", &json!({"filter": filter}));
        reply.assert_error(400, Some("invalidFilter"));
        assert!(
            reply.body["detail"]
                .as_str()
                .expect("detail")
                .contains(named),
            "{filter}: {reply:?}"
        );
    }
    let long = format!("userName eq \"{}\"", "a".repeat(5000));
    let reply = scim.post("/Users/.search", &json!({"filter": long}));
    reply.assert_error(400, Some("invalidFilter"));
    assert!(
        reply.body["detail"]
            .as_str()
            .expect("detail")
            .contains("4096")
    );
    let deep = format!("{}userName pr{}", "not (".repeat(20), ")".repeat(20));
    scim.post("/Users/.search", &json!({"filter": deep}))
        .assert_error(400, Some("invalidFilter"));
}

#[test]
fn etags_guard_writes_and_save_reads() {
    let scim = Scim::start();
    let user = scim.create_user("etag@example.com", true);
    let id = id_of(&user);
    let path = format!("/Users/{id}");
    let reply = scim.get(&path);
    let tag = reply.header("etag").expect("ETag").to_owned();
    assert_eq!(
        tag, reply.body["meta"]["version"],
        "ETag equals meta.version (behaviour 41)"
    );

    let not_modified = scim.send_as(
        Some(&scim.token),
        Method::GET,
        &path,
        None,
        &[("If-None-Match", &tag)],
    );
    assert_eq!(not_modified.status, 304);
    let events = scim.audit_events();
    let stale = "W/\"999\"";
    let patch = json!({"schemas": [super::PATCH], "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
    scim.send_as(
        Some(&scim.token),
        Method::PATCH,
        &path,
        Some(&patch),
        &[("If-Match", stale)],
    )
    .assert_error(412, None);
    scim.send_as(
        Some(&scim.token),
        Method::PUT,
        &path,
        Some(&user),
        &[("If-Match", stale)],
    )
    .assert_error(412, None);
    scim.send_as(
        Some(&scim.token),
        Method::DELETE,
        &path,
        None,
        &[("If-Match", stale)],
    )
    .assert_error(412, None);
    assert_eq!(
        scim.audit_events(),
        events,
        "a stale If-Match changes nothing"
    );
    assert_eq!(scim.get(&path).body["meta"]["version"], tag.as_str());

    let reply = scim.send_as(
        Some(&scim.token),
        Method::PATCH,
        &path,
        Some(&patch),
        &[("If-Match", &tag)],
    );
    assert_eq!(reply.status, 200);
    assert_ne!(reply.header("etag"), Some(tag.as_str()));
    let modified = scim.send_as(
        Some(&scim.token),
        Method::GET,
        &path,
        None,
        &[("If-None-Match", &tag)],
    );
    assert_eq!(modified.status, 200);
}

#[test]
fn a_failing_patch_operation_changes_nothing() {
    let scim = Scim::start();
    let id = id_of(&scim.create_user("atomic@example.com", true));
    let path = format!("/Users/{id}");
    let before = scim.get(&path).body;
    let events = scim.audit_events();
    let good = json!({"op": "replace", "path": "title", "value": "Changed"});
    let suspend = json!({"op": "replace", "path": "active", "value": false});
    for (bad, scim_type) in [
        (json!({"op": "remove"}), "noTarget"),
        (
            json!({"op": "replace", "path": "shoeSize", "value": 44}),
            "invalidPath",
        ),
        (
            json!({"op": "replace", "path": "active", "value": "maybe"}),
            "invalidValue",
        ),
        (
            json!({"op": "replace", "path": "id", "value": "0190a0a0-0000-7000-8000-000000000000"}),
            "mutability",
        ),
        (
            json!({"op": "replace", "path": "emails[type eq \"home\"].value", "value": "h@x.com"}),
            "noTarget",
        ),
        (
            json!({"op": "jump", "path": "title", "value": "x"}),
            "invalidSyntax",
        ),
        (
            json!({"op": "replace", "path": "userName", "value": ""}),
            "invalidValue",
        ),
    ] {
        let reply = scim.patch(&path, json!([good, suspend, bad]));
        reply.assert_error(400, Some(scim_type));
    }
    assert_eq!(
        scim.get(&path).body,
        before,
        "no attribute or state changed"
    );
    assert_eq!(scim.audit_events(), events, "no audit event was written");
}

#[test]
fn projection_applies_to_every_read() {
    let scim = Scim::start();
    let id = id_of(&scim.create_user("proj@example.com", true));
    let reply = scim.get(&format!("/Users/{id}?attributes=userName,name.givenName"));
    let keys: Vec<&String> = reply.body.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 4, "schemas, id, userName, name: {keys:?}");
    assert_eq!(reply.body["name"], json!({"givenName": "Test"}));
    let reply = scim.get(&format!("/Users/{id}?excludedAttributes=emails,{ROSTER}"));
    assert!(reply.body.get("emails").is_none());
    assert!(reply.body.get(ROSTER).is_none());
    assert_eq!(reply.body["id"], id.as_str());
    let reply = scim.get(&format!("/Users?attributes={ROSTER}:state"));
    assert_eq!(
        reply.body["Resources"][0][ROSTER],
        json!({"state": "ACTIVATED"})
    );
}

#[test]
fn discovery_documents_describe_what_is_served() {
    let scim = Scim::start();
    let config = scim.send_as(None, Method::GET, "/ServiceProviderConfig", None, &[]);
    assert_eq!(config.status, 200);
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["etag"]["supported"], true);
    assert_eq!(config.body["filter"]["maxResults"], 200);
    let types = scim.get("/ResourceTypes");
    assert_eq!(types.body["totalResults"], 2);
    let schemas = scim.get("/Schemas");
    assert_eq!(schemas.body["schemas"], json!([LIST]));
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.contains(&ROSTER));
    let user = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User");
    let attribute = |name: &str| -> Value {
        user.body["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .expect(name)
    };
    assert_eq!(attribute("userName")["uniqueness"], "server");
    assert_eq!(attribute("userName")["caseExact"], false);
    assert_eq!(attribute("userName")["required"], true);
    assert_eq!(attribute("groups")["mutability"], "readOnly");
    assert_eq!(attribute("password")["returned"], "never");
    let roster = scim.get(&format!("/Schemas/{ROSTER}"));
    let state_changed = roster.body["attributes"]
        .as_array()
        .expect("attrs")
        .iter()
        .find(|a| a["name"] == "stateChangedAt")
        .cloned()
        .expect("stateChangedAt");
    assert_eq!(state_changed["mutability"], "readOnly");
    scim.get("/Schemas/urn:nope").assert_error(404, None);
    scim.get("/Nothing").assert_error(404, None);
}

#[test]
fn bodies_are_bounded_and_must_be_json() {
    let scim = Scim::start();
    let huge = json!({"userName": "big@example.com", "displayName": "x".repeat(1024 * 1024 + 10)});
    let reply = scim.post("/Users", &huge);
    reply.assert_error(413, Some("invalidValue"));
    assert!(
        reply.body["detail"]
            .as_str()
            .expect("detail")
            .contains("1048576")
    );

    let malformed = conformance_tests::client()
        .post(scim.server.url("/scim/v2/Users"))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("Content-Type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .expect("request");
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().expect("json");
    assert_eq!(body["scimType"], "invalidSyntax");

    let xml = conformance_tests::client()
        .post(scim.server.url("/scim/v2/Users"))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("Content-Type", "application/xml")
        .body("<user/>")
        .send()
        .expect("request");
    assert_eq!(xml.status(), 415);

    let operations: Vec<Value> = (0..101)
        .map(|_| json!({"op": "replace", "path": "title", "value": "x"}))
        .collect();
    let id = id_of(&scim.create_user("ops@example.com", true));
    let reply = scim.patch(&format!("/Users/{id}"), Value::Array(operations));
    reply.assert_error(400, Some("invalidValue"));
    assert!(
        reply.body["detail"]
            .as_str()
            .expect("detail")
            .contains("at most 100")
    );
    assert_eq!(scim.get("/Users").body["totalResults"], 1);
}
