//! Bearer-token authentication of SCIM calls. A handler takes [`ScimReader`] when it only
//! reads and [`ScimCaller`] when it may write; either one makes the route require a token.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::StatusCode, web};

use super::ScimError;
use crate::http::AppState;
use crate::service::scim_tokens::{self, ScimClient, TokenRejected, VerifiedToken};
use crate::service::users::Actor;
use crate::store::DbConnection;

/// A SCIM caller whose token was checked and whose integration was loaded: what a write needs.
#[derive(Debug, Clone)]
pub struct ScimCaller(pub ScimClient);

/// A SCIM caller whose token was checked: signed by this server and still unrevoked. Enough
/// for a read, which acts as nobody.
#[derive(Debug, Clone, Copy)]
pub struct ScimReader;

impl ScimCaller {
    pub fn actor(&self) -> Actor {
        crate::service::scim_users::scim_actor(&self.0.integration)
    }

    /// Refuses a write with a read-only token.
    pub fn require_write(&self) -> Result<(), ScimError> {
        if self.0.read_only {
            return Err(ScimError::new(
                StatusCode::FORBIDDEN,
                None,
                "this token is read-only; issue one without --read-only to make changes",
            ));
        }
        Ok(())
    }
}

/// Checks the token's signature (remembered after the first time), then its record with
/// `check`, which is asked of the database on every request so that a revocation counts at
/// once.
async fn authenticate<T, C>(state: &AppState, token: String, check: C) -> Result<T, ScimError>
where
    C: FnOnce(&mut DbConnection, &VerifiedToken) -> Result<T, TokenRejected> + Send + 'static,
    T: Send + 'static,
{
    let verifier = state.scim_tokens.clone();
    match verifier.secret() {
        Some(secret) => {
            let verified = verifier.verify(secret, &token)?;
            state
                .store
                .read(move |conn| check(conn, &verified).map_err(ScimError::from))
                .await
        }
        // The first request reads the secret, or generates it, which is a write.
        None => {
            let now = chrono::Utc::now();
            state
                .store
                .run(move |conn| {
                    let secret = verifier.load_secret(conn, now)?;
                    let verified = verifier.verify(secret, &token)?;
                    check(conn, &verified).map_err(ScimError::from)
                })
                .await
        }
    }
}

/// The future of an extractor: the bearer token taken from the request, checked by `check`.
fn extract<T, C>(
    request: &HttpRequest,
    check: C,
) -> Pin<Box<dyn Future<Output = Result<T, ScimError>>>>
where
    C: FnOnce(&mut DbConnection, &VerifiedToken) -> Result<T, TokenRejected> + Send + 'static,
    T: Send + 'static,
{
    let header = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let state = request.app_data::<web::Data<AppState>>().cloned();
    Box::pin(async move {
        let token = header
            .as_deref()
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ScimError::unauthorized(
                    "this request needs an Authorization: Bearer <token> header with a token \
                     from `roster token issue`",
                )
            })?;
        let state = state.ok_or_else(|| {
            ScimError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "the application state is not registered",
            )
        })?;
        authenticate(&state, token, check)
            .await
            .inspect_err(|error| {
                // The token itself is never logged.
                tracing::info!(reason = %error.detail, "SCIM token refused");
            })
    })
}

impl FromRequest for ScimCaller {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let checked = extract(request, |conn, verified| {
            scim_tokens::check_record(conn, verified).map(ScimCaller)
        });
        Box::pin(checked)
    }
}

impl FromRequest for ScimReader {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let checked = extract(request, |conn, verified| {
            scim_tokens::check_for_read(conn, verified).map(|()| ScimReader)
        });
        Box::pin(checked)
    }
}
