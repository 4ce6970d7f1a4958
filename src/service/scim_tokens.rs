//! SCIM bearer tokens: JWTs the server signs (HS256) for one integration, checked on every
//! request against the signature, the audience and the token's record, so that a revoked
//! token stops working at once.
//!
//! The signing secret is generated at first use and kept in the database (`server_secrets`),
//! not in the data directory: every instance sharing a PostgreSQL database, and the CLI that
//! issues tokens, then use the same key without copying files around.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ServiceError;
use crate::domain::integration::{Integration, IntegrationKind, LifecyclePolicy};
use crate::store::integrations::{self, TokenRecord};
use crate::store::{DbConnection, StoreError, write_transaction};

/// The `iss` of every token.
pub const ISSUER: &str = "roster";
/// The `aud` of SCIM tokens; a JWT minted for anything else is refused.
pub const AUDIENCE: &str = "roster-scim";
const SECRET_NAME: &str = "scim_jwt_hs256";
/// Scope values carried in the `scope` claim.
const SCOPE_READ: &str = "scim:read";
const SCOPE_WRITE: &str = "scim:write";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    /// The integration's id.
    sub: String,
    /// The token's id, the handle for revocation.
    jti: String,
    iat: i64,
    scope: String,
}

/// A token just issued. `token` is shown once and never stored.
pub struct IssuedToken {
    pub token: String,
    pub record: TokenRecord,
    pub integration: Integration,
    /// True when this call created the integration.
    pub created_integration: bool,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("record", &self.record)
            .field("integration", &self.integration.name)
            .finish()
    }
}

/// The signing secret of this database, generated and stored at first use.
pub(super) fn secret(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Vec<u8>, StoreError> {
    let text = integrations::server_secret(conn, SECRET_NAME, now, || {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        hex::encode(bytes)
    })?;
    hex::decode(text).map_err(|_| StoreError::corrupt("the SCIM signing secret is not hex"))
}

/// Issues a token for the integration `name`, creating the integration (of `kind`, generic by
/// default) when it does not exist yet. A `kind` given for an existing integration of another
/// kind is refused rather than silently changed.
pub fn issue(
    conn: &mut DbConnection,
    name: &str,
    kind: Option<IntegrationKind>,
    read_only: bool,
    now: DateTime<Utc>,
) -> Result<IssuedToken, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(crate::domain::user::InvalidField::new(
            "integration",
            "must be 1 to 200 printable characters",
        )
        .into());
    }
    let key = secret(conn, now)?;
    write_transaction(conn, |conn| {
        let (integration, created_integration) = match integrations::find_by_name(conn, name)? {
            Some(existing) => {
                if let Some(kind) = kind.filter(|kind| *kind != existing.kind) {
                    return Err(crate::domain::user::InvalidField::new(
                        "kind",
                        format!(
                            "the integration {name:?} is of kind {}, not {kind}",
                            existing.kind
                        ),
                    )
                    .into());
                }
                (existing, false)
            }
            None => {
                let integration =
                    Integration::new(name, kind.unwrap_or(IntegrationKind::Generic), now);
                integrations::insert(conn, &integration)?;
                (integration, true)
            }
        };
        let record = TokenRecord {
            id: Uuid::now_v7(),
            integration_id: integration.id,
            read_only,
            created_at: now,
            revoked_at: None,
        };
        integrations::insert_token(conn, &record)?;
        let scope = if read_only {
            SCOPE_READ.to_owned()
        } else {
            format!("{SCOPE_READ} {SCOPE_WRITE}")
        };
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: integration.id.to_string(),
            jti: record.id.to_string(),
            iat: now.timestamp(),
            scope,
        };
        let signing_key = EncodingKey::from_secret(&key).map_err(|error| {
            StoreError::corrupt(format!("the signing key is unusable: {error}"))
        })?;
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &signing_key)
            .map_err(|error| StoreError::corrupt(format!("signing a token failed: {error}")))?;
        tracing::info!(integration = %integration.name, token.id = %record.id, read_only, "SCIM token issued");
        Ok(IssuedToken {
            token,
            record,
            integration,
            created_integration,
        })
    })
}

/// Revokes a token by its id; false when no unrevoked token has that id.
pub fn revoke(conn: &mut DbConnection, id: Uuid, now: DateTime<Utc>) -> Result<bool, ServiceError> {
    let revoked = integrations::revoke_token(conn, id, now)?;
    if revoked {
        tracing::info!(token.id = %id, "SCIM token revoked");
    }
    Ok(revoked)
}

/// Revokes every token of an integration; returns how many were revoked.
pub fn revoke_all(
    conn: &mut DbConnection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<usize>, ServiceError> {
    write_transaction(conn, |conn| {
        let Some(integration) = integrations::find_by_name(conn, name)? else {
            return Ok(None);
        };
        let mut revoked = 0;
        for token in integrations::tokens_of(conn, integration.id)? {
            if integrations::revoke_token(conn, token.id, now)? {
                revoked += 1;
            }
        }
        tracing::info!(integration = %name, revoked, "SCIM tokens revoked");
        Ok(Some(revoked))
    })
}

/// Changes an integration's lifecycle policy; `None` when no integration has that name.
pub fn set_policy(
    conn: &mut DbConnection,
    name: &str,
    edit: impl FnOnce(&mut LifecyclePolicy),
) -> Result<Option<Integration>, ServiceError> {
    write_transaction(conn, |conn| {
        let Some(mut integration) = integrations::find_by_name(conn, name)? else {
            return Ok(None);
        };
        edit(&mut integration.policy);
        integrations::update(conn, &integration)?;
        tracing::info!(integration = %name, policy = ?integration.policy, "integration policy changed");
        Ok(Some(integration))
    })
}

/// An authenticated SCIM caller.
#[derive(Debug, Clone)]
pub struct ScimClient {
    pub integration: Integration,
    pub token_id: Uuid,
    /// Only reads are allowed.
    pub read_only: bool,
}

/// Why a bearer token was refused. The messages name the reason without echoing the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenRejected {
    #[error("the token is not a JWT signed with HS256 by this server")]
    Malformed,
    #[error("the token's signature does not match this server's key")]
    BadSignature,
    #[error(
        "the token was issued for another audience; SCIM needs a token from `roster token issue`"
    )]
    WrongAudience,
    #[error("the token has expired; issue a new one with `roster token issue`")]
    Expired,
    #[error("the token names an integration that does not exist")]
    UnknownIntegration,
    #[error("the token was revoked or is unknown; issue a new one with `roster token issue`")]
    Revoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A bearer token whose signature, issuer and audience were checked. Whether its record still
/// exists and is unrevoked is a separate step, [`check_record`], done on every request.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedToken {
    pub token_id: Uuid,
    pub integration_id: crate::domain::IntegrationId,
    can_write: bool,
}

/// Checks a token's signature and claims against the signing secret `key`.
pub fn verify(key: &[u8], token: &str) -> Result<VerifiedToken, TokenRejected> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    validation.required_spec_claims = HashSet::from(["aud".to_owned(), "sub".to_owned()]);
    let decoding_key = DecodingKey::from_secret(key).map_err(|_| TokenRejected::Malformed)?;
    let claims = jsonwebtoken::decode::<Claims>(token, &decoding_key, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature => TokenRejected::BadSignature,
            ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => TokenRejected::WrongAudience,
            ErrorKind::ExpiredSignature => TokenRejected::Expired,
            _ => TokenRejected::Malformed,
        })?
        .claims;
    Ok(VerifiedToken {
        token_id: claims.jti.parse().map_err(|_| TokenRejected::Malformed)?,
        integration_id: claims.sub.parse().map_err(|_| TokenRejected::Malformed)?,
        can_write: claims.scope.split(' ').any(|scope| scope == SCOPE_WRITE),
    })
}

/// Checks a verified token against its record, so that a revoked token stops working at once,
/// and finds the integration it speaks for.
pub fn check_record(
    conn: &mut DbConnection,
    verified: &VerifiedToken,
) -> Result<ScimClient, TokenRejected> {
    let Some((record, integration)) =
        integrations::find_token_with_integration(conn, verified.token_id)?
    else {
        return Err(TokenRejected::Revoked);
    };
    if record.revoked_at.is_some() {
        return Err(TokenRejected::Revoked);
    }
    if record.integration_id != verified.integration_id {
        return Err(TokenRejected::Malformed);
    }
    Ok(ScimClient {
        integration,
        token_id: verified.token_id,
        read_only: record.read_only || !verified.can_write,
    })
}

/// Checks a verified token against its record for a read: it must exist, unrevoked, for the
/// integration it names. Cheaper than [`check_record`], which also loads the integration a
/// write acts as.
pub fn check_for_read(
    conn: &mut DbConnection,
    verified: &VerifiedToken,
) -> Result<(), TokenRejected> {
    let Some(integration) = integrations::live_token_integration(conn, verified.token_id)? else {
        return Err(TokenRejected::Revoked);
    };
    match integration.parse::<crate::domain::IntegrationId>() {
        Ok(integration) if integration == verified.integration_id => Ok(()),
        _ => Err(TokenRejected::Malformed),
    }
}

/// Checks a bearer token and finds the integration it speaks for.
pub fn authenticate(
    conn: &mut DbConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<ScimClient, TokenRejected> {
    let key = secret(conn, now)?;
    let verified = verify(&key, token)?;
    check_record(conn, &verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_each_backend;

    #[test]
    fn issued_tokens_authenticate_until_revoked() {
        on_each_backend(|store| {
            let conn = &mut store.conn().expect("conn");
            let now = Utc::now();
            let issued =
                issue(conn, "okta-prod", Some(IntegrationKind::Okta), false, now).expect("issue");
            assert!(issued.created_integration);
            assert!(!format!("{issued:?}").contains(&issued.token));
            let client = authenticate(conn, &issued.token, now).expect("authenticates");
            assert_eq!(client.integration.name, "okta-prod");
            assert!(!client.read_only);

            let second = issue(conn, "okta-prod", None, true, now).expect("second token");
            assert!(!second.created_integration);
            assert!(
                authenticate(conn, &second.token, now)
                    .expect("ok")
                    .read_only
            );
            assert!(issue(conn, "okta-prod", Some(IntegrationKind::Entra), false, now).is_err());

            assert!(revoke(conn, issued.record.id, now).expect("revoke"));
            assert!(matches!(
                authenticate(conn, &issued.token, now),
                Err(TokenRejected::Revoked)
            ));
            assert!(authenticate(conn, &second.token, now).is_ok());
        });
    }

    #[test]
    fn forged_tokens_are_refused_with_the_reason() {
        on_each_backend(|store| {
            let conn = &mut store.conn().expect("conn");
            let now = Utc::now();
            let issued = issue(conn, "entra", None, false, now).expect("issue");
            let claims = |aud: &str| Claims {
                iss: ISSUER.into(),
                aud: aud.into(),
                sub: issued.integration.id.to_string(),
                jti: issued.record.id.to_string(),
                iat: now.timestamp(),
                scope: "scim:read scim:write".into(),
            };
            let sign = |claims: &Claims, key: &[u8]| {
                jsonwebtoken::encode(
                    &Header::new(Algorithm::HS256),
                    claims,
                    &EncodingKey::from_secret(key).expect("key"),
                )
                .expect("sign")
            };
            let wrong_key = sign(&claims(AUDIENCE), b"not the server key");
            assert!(matches!(
                authenticate(conn, &wrong_key, now),
                Err(TokenRejected::BadSignature)
            ));
            let key = secret(conn, now).expect("secret");
            let wrong_audience = sign(&claims("admin"), &key);
            assert!(matches!(
                authenticate(conn, &wrong_audience, now),
                Err(TokenRejected::WrongAudience)
            ));
            // alg "none": a header and claims with an empty signature.
            use base64_url_free::encode as b64;
            let none = format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(serde_json::to_string(&claims(AUDIENCE))
                    .expect("json")
                    .as_bytes())
            );
            assert!(matches!(
                authenticate(conn, &none, now),
                Err(TokenRejected::Malformed)
            ));
            assert!(matches!(
                authenticate(conn, "not-a-token", now),
                Err(TokenRejected::Malformed)
            ));
        });
    }

    /// Unpadded base64url, enough to hand-craft an unsigned JWT.
    mod base64_url_free {
        pub fn encode(bytes: &[u8]) -> String {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0_u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                }
            }
            out
        }
    }
}
