//! Any bytes as a PATCH path: parsing must return a path or an invalidPath error, never
//! panic; applying it to a user resource must succeed or fail with a SCIM error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::scim::ScimLimits;
use roster::scim::filter::parse_patch_path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = ScimLimits::default();
    if let Err(error) = parse_patch_path(text, &limits) {
        assert_eq!(error.scim_type, Some("invalidPath"));
    }
    let mut resource = serde_json::json!({
        "userName": "alice",
        "emails": [{"value": "a@example.com", "type": "work", "primary": true}],
        "name": {"givenName": "Alice"},
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    for op in ["add", "replace", "remove"] {
        let body = serde_json::json!({
            "Operations": [{"op": op, "path": text, "value": "x"}],
        });
        if let Ok(operations) = roster::scim::patch::parse_request(&body, &limits) {
            let _ = roster::scim::patch::apply(
                &mut resource,
                &operations,
                &roster::scim::USER_RESOURCE,
                &limits,
            );
        }
    }
});
