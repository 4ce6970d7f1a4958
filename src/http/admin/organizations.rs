//! `/api/organizations`: the one organization and its `newSystemUserStateDefaults`.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::{Value, json};

use crate::domain::{DefaultState, StateDefaults};
use crate::http::AppState;
use crate::http::admin_auth::AdminCaller;
use crate::http::api_error::ApiError;
use crate::service::organization;
use crate::store::organization::Organization;
use crate::store::write_transaction;

fn organization_json(organization: &Organization, defaults: &StateDefaults) -> Value {
    json!({
        "_id": organization.id,
        "id": organization.id,
        "displayName": organization.name,
        "settings": { "newSystemUserStateDefaults": defaults },
    })
}

pub async fn list(
    _caller: AdminCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (organization, defaults) = state.store.run(organization::get).await?;
    Ok(HttpResponse::Ok().json(json!({
        "totalCount": 1,
        "results": [organization_json(&organization, &defaults)],
    })))
}

fn check_id(organization: &Organization, id: &str) -> Result<(), ApiError> {
    if organization.id == id {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no organization has id {id}")))
    }
}

pub async fn get(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (organization, defaults) = state.store.run(organization::get).await?;
    check_id(&organization, &path)?;
    Ok(HttpResponse::Ok().json(organization_json(&organization, &defaults)))
}

/// The requested changes: `{"settings": {"newSystemUserStateDefaults": {…}}}` with any of the
/// three keys; anything else is refused by name.
fn requested_defaults(body: &Value) -> Result<Vec<(String, DefaultState)>, ApiError> {
    let bad = |message: String| ApiError::bad_request(message);
    let object = |value: &Value, name: &str| {
        value
            .as_object()
            .cloned()
            .ok_or_else(|| bad(format!("{name}: must be a JSON object")))
    };
    let top = object(body, "the body")?;
    if let Some(other) = top.keys().find(|k| *k != "settings") {
        return Err(bad(format!(
            "{other}: cannot be changed through Roster's API"
        )));
    }
    let settings = object(top.get("settings").unwrap_or(&json!({})), "settings")?;
    if let Some(other) = settings.keys().find(|k| *k != "newSystemUserStateDefaults") {
        return Err(bad(format!(
            "settings.{other}: is not a setting Roster supports"
        )));
    }
    let defaults = settings
        .get("newSystemUserStateDefaults")
        .unwrap_or(&json!({}))
        .clone();
    let defaults = object(&defaults, "settings.newSystemUserStateDefaults")?;
    defaults
        .into_iter()
        .map(|(key, value)| {
            let name = format!("settings.newSystemUserStateDefaults.{key}");
            if !["manualEntry", "csvImport", "applicationImport"].contains(&key.as_str()) {
                return Err(bad(format!(
                    "{name}: unknown setting; expected manualEntry, csvImport or applicationImport"
                )));
            }
            let state = serde_json::from_value::<DefaultState>(value.clone())
                .map_err(|_| bad(format!("{name}: must be ACTIVATED or STAGED, not {value}")))?;
            Ok((key, state))
        })
        .collect()
}

fn merge(current: StateDefaults, changes: &[(String, DefaultState)]) -> StateDefaults {
    let mut merged = current;
    for (key, state) in changes {
        match key.as_str() {
            "manualEntry" => merged.manual_entry = *state,
            "csvImport" => merged.csv_import = *state,
            _ => merged.application_import = *state,
        }
    }
    merged
}

pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let changes = requested_defaults(&body)?;
    let id = path.into_inner();
    let actor = caller.actor();
    let (organization, defaults) = state
        .store
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (organization, current) = organization::get(conn)?;
                check_id(&organization, &id)?;
                let merged = merge(current, &changes);
                Ok::<_, ApiError>(organization::set_state_defaults(
                    conn,
                    merged,
                    &actor,
                    Utc::now(),
                )?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(organization_json(&organization, &defaults)))
}
