//! Discovery: `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4). They
//! need no token, so a client can learn how to authenticate.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::schema::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, ROSTER_SCHEMA, USER_SCHEMA, all_schemas};
use super::{CONTENT_TYPE, ScimError, base_url, limits};

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(body.to_string())
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn service_provider_config(request: HttpRequest) -> HttpResponse {
    let limits = limits(&request);
    let base = base_url(&request);
    ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/roster/roster#scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": limits.max_page_size},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A JWT issued by `roster token issue --integration NAME`, sent as Authorization: Bearer <token>.",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    }))
}

fn resource_types_json(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User accounts and their lifecycle state",
            "schema": USER_SCHEMA,
            "schemaExtensions": [
                {"schema": ENTERPRISE_SCHEMA, "required": false},
                {"schema": ROSTER_SCHEMA, "required": false},
            ],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "User groups",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub async fn resource_types(request: HttpRequest) -> HttpResponse {
    ok(list(resource_types_json(&base_url(&request))))
}

pub async fn resource_type(
    request: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    resource_types_json(&base_url(&request))
        .into_iter()
        .find(|resource| {
            resource["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&name))
        })
        .map(ok)
        .ok_or_else(|| ScimError::not_found("ResourceType", &name))
}

pub async fn schemas(request: HttpRequest) -> HttpResponse {
    ok(list(all_schemas(&base_url(&request))))
}

pub async fn schema(
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    all_schemas(&base_url(&request))
        .into_iter()
        .find(|schema| {
            schema["id"]
                .as_str()
                .is_some_and(|urn| urn.eq_ignore_ascii_case(&id))
        })
        .map(ok)
        .ok_or_else(|| ScimError::not_found("Schema", &id))
}
