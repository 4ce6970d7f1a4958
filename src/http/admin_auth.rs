//! Authentication of admin API calls by the `x-api-key` header.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::AppState;
use super::api_error::ApiError;
use crate::service::api_keys;
use crate::service::users::Actor;

/// The header JumpCloud's API and its scripts send the key in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// An admin API caller whose key was checked. Taking it as a handler argument is what makes a
/// route require a key.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    /// The name the key was created with; recorded as the actor of every change it makes.
    pub key_name: String,
}

impl AdminCaller {
    pub fn actor(&self) -> Actor {
        Actor::admin(self.key_name.clone())
    }
}

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let presented = request
            .headers()
            .get(API_KEY_HEADER)
            .map(|value| value.to_str().unwrap_or_default().to_owned());
        let state = request.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let Some(presented) = presented.filter(|key| !key.is_empty()) else {
                return Err(ApiError::unauthorized(
                    "this request needs an API key in the x-api-key header",
                ));
            };
            let state = state.ok_or_else(|| ApiError::internal(&MissingState))?;
            let record = state
                .store
                .run(move |conn| api_keys::authenticate(conn, &presented))
                .await?;
            // The key itself is never logged, not even when it is wrong.
            match record {
                Some(record) => Ok(AdminCaller {
                    key_name: record.name,
                }),
                None => Err(ApiError::unauthorized(
                    "the API key in x-api-key is unknown or revoked",
                )),
            }
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the application state is not registered")]
struct MissingState;

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test};
    use chrono::Utc;

    use super::*;
    use crate::store::testing::databases;

    async fn whoami(caller: AdminCaller) -> HttpResponse {
        HttpResponse::Ok().body(caller.key_name)
    }

    #[actix_web::test]
    async fn only_known_unrevoked_keys_get_through() {
        for database in databases() {
            let store = database.store.clone();
            let key = {
                let mut conn = store.conn().expect("conn");
                api_keys::create(&mut conn, "ci", Utc::now())
                    .expect("key")
                    .key
            };
            let app = test::init_service(
                App::new()
                    .app_data(web::Data::new(AppState::new(store.clone())))
                    .route("/whoami", web::get().to(whoami)),
            )
            .await;
            let call = |key: Option<&str>| {
                let mut request = test::TestRequest::get().uri("/whoami");
                if let Some(key) = key {
                    request = request.insert_header((API_KEY_HEADER, key));
                }
                request.to_request()
            };
            let response = test::call_service(&app, call(Some(&key))).await;
            assert_eq!(response.status(), 200);
            assert_eq!(test::read_body(response).await, "ci");

            for (presented, expected) in [
                (None, "needs an API key"),
                (Some("roster_0000"), "unknown or revoked"),
            ] {
                let response = test::call_service(&app, call(presented)).await;
                assert_eq!(response.status(), 401);
                let body: serde_json::Value = test::read_body_json(response).await;
                assert!(
                    body["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(expected),
                    "{body}"
                );
            }
            api_keys::revoke(&mut store.conn().expect("conn"), "ci", Utc::now()).expect("revoke");
            let response = test::call_service(&app, call(Some(&key))).await;
            assert_eq!(response.status(), 401);
        }
    }
}
