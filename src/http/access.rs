//! The access check: may this user use this resource now, and why (not)?
//! A scheduled state change that is already due counts as applied, even before the scheduler
//! has run it.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::admin_auth::AdminCaller;
use super::api_error::ApiError;
use super::resources::parse_id;
use crate::domain::lifecycle::{self, Transition, Trigger};
use crate::domain::provisioning::{ResourceType, access};
use crate::domain::{LifecycleState, ResourceId, UserId};
use crate::store::{resources, users};

pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/api/v2/users/{id}/access", web::get().to(check));
}

#[derive(Deserialize)]
struct AccessQuery {
    resource: Option<String>,
}

/// The implicit resource every user is bound to.
const USER_PORTAL: &str = "user_portal";

async fn check(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
    query: web::Query<AccessQuery>,
) -> Result<HttpResponse, ApiError> {
    let user_id: UserId = parse_id(&id, "user")?;
    let resource_text = query
        .resource
        .clone()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "the resource query parameter is required: a resource id, or user_portal",
            )
        })?;
    let resource_id = if resource_text == USER_PORTAL {
        None
    } else {
        Some(resource_text.parse::<ResourceId>().map_err(|_| {
            ApiError::bad_request(format!(
                "resource {resource_text:?} is neither a resource id nor user_portal"
            ))
        })?)
    };
    let now = Utc::now();
    let answer = state
        .store
        .run(move |conn| {
            let user = users::find(conn, user_id)?
                .ok_or_else(|| ApiError::not_found(format!("no user has id {user_id}")))?;
            let (resource_json, kind, bound) = match resource_id {
                None => (json!({ "id": USER_PORTAL, "name": "User Portal", "type": USER_PORTAL }), ResourceType::UserPortal, true),
                Some(resource_id) => {
                    let resource = resources::find(conn, resource_id)?
                        .ok_or_else(|| ApiError::not_found(format!("no resource has id {resource_id}")))?;
                    let bound = resources::is_bound(conn, resource_id, user_id)?;
                    (json!({ "id": resource.id.to_string(), "name": resource.name, "type": resource.kind.as_str() }), resource.kind, bound)
                }
            };
            let due = resources::due_schedule(conn, user_id, user.state_changed_at, now)?;
            let mut effective = user.state;
            let mut due_json = serde_json::Value::Null;
            if let Some((schedule_id, target, run_at)) = due
                && let Some(target) = parse_state(&target)
            {
                if let Ok(Transition::Change { to, .. }) =
                    lifecycle::transition(user.state, target, Trigger::Schedule, user.samba_service_user)
                {
                    effective = to;
                }
                due_json = json!({ "id": schedule_id, "targetState": target, "runAt": run_at });
            }
            let decision = access(effective, bound, kind);
            let mut reason = decision.reason;
            if effective != user.state {
                reason = format!("{reason} (a scheduled change to {effective} fell due at {} and counts as applied)", due_json["runAt"].as_str().unwrap_or_default());
            }
            Ok::<_, ApiError>(json!({
                "userId": user_id.to_string(),
                "resource": resource_json,
                "allowed": decision.allowed,
                "reason": reason,
                "bound": bound,
                "state": user.state,
                "effectiveState": effective,
                "dueSchedule": due_json,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

fn parse_state(text: &str) -> Option<LifecycleState> {
    match text {
        "ACTIVATED" => Some(LifecycleState::Activated),
        "SUSPENDED" => Some(LifecycleState::Suspended),
        "STAGED" => Some(LifecycleState::Staged),
        _ => None,
    }
}
