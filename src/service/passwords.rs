//! Passwords: checked against the policy, hashed with Argon2id, stored as a PHC string, and set
//! by an admin or by the user through a one-time link. The clear text never reaches the store,
//! a log or a response.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::ServiceError;
use super::users::Actor;
use crate::domain::audit::{AuditResource, EventType, Initiator, InitiatorKind, NewAuditEvent};
use crate::domain::password::{MAX_PASSWORD_LEN, PasswordPolicy};
use crate::domain::user::InvalidField;
use crate::domain::{LifecycleState, User, UserId};
use crate::store::users::{UserChange, apply_user_change};
use crate::store::{DbConnection, StoreError, password_tokens, users, write_transaction};

/// How long a set-password link in an activation email stays valid.
pub const LINK_VALIDITY: Duration = Duration::days(7);

/// An Argon2id PHC string. Its Debug output hides the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn into_phc(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Checks `clear` against the policy and hashes it with Argon2id (OWASP's minimum parameters:
/// 19 MiB, 2 passes, 1 lane). CPU-heavy: call it off the async runtime (`web::block`).
pub fn hash_password(policy: &PasswordPolicy, clear: &str) -> Result<PasswordHash, ServiceError> {
    policy.check(clear)?;
    argon2id(clear)
}

/// Hashes a password an identity provider synced (Okta's password sync). The identity
/// provider's own policy governed it when the person chose it, and refusing it here would
/// break provisioning for that person, so only its length is bounded.
pub fn hash_synced_password(clear: &str) -> Result<PasswordHash, ServiceError> {
    let length = clear.chars().count();
    if length == 0 || length > MAX_PASSWORD_LEN {
        return Err(InvalidField::new(
            "password",
            format!("must have between 1 and {MAX_PASSWORD_LEN} characters"),
        )
        .into());
    }
    argon2id(clear)
}

fn argon2id(clear: &str) -> Result<PasswordHash, ServiceError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|error| StoreError::Unavailable(format!("no system randomness: {error}")))?;
    let salt = SaltString::encode_b64(&salt).expect("16 bytes are a valid salt length");
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant parameters are in range");
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(clear.as_bytes(), &salt)
        .map_err(|e| StoreError::unavailable(format!("password hashing failed: {e}")))?;
    Ok(PasswordHash(hash.to_string()))
}

fn password_event(initiator: &Initiator, user: &User, how: &str) -> NewAuditEvent {
    NewAuditEvent {
        event_type: EventType::UserPasswordSet,
        initiated_by: initiator.clone(),
        resource: AuditResource::user(user.id, user.username.as_str()),
        details: json!({ "password_expired": user.password.expired, "set_by": how }),
    }
}

/// Gives `user` (as it will be stored) the new password; the caller writes the row.
pub fn apply_password(user: &mut User, hash: PasswordHash, expired: bool, now: DateTime<Utc>) {
    user.password.hash = Some(hash.into_phc());
    user.password.expired = expired;
    user.password.set_at = Some(now);
}

/// Who set a password, as the `set_by` of its event: an identity provider syncing it, or an
/// administrator (through the API or the command line).
fn set_by(actor: &Actor) -> &'static str {
    match actor.initiator.kind {
        InitiatorKind::Scim => "scim",
        _ => "admin",
    }
}

/// The `user_password_set` event for a user created with a password.
pub fn password_set_event(actor: &Actor, user: &User) -> NewAuditEvent {
    password_event(&actor.initiator, user, set_by(actor))
}

/// Sets a user's password (a staged user's too: it is stored and only used once the user is
/// active). `expired` makes the user choose a new one at the next login.
pub fn set_password(
    conn: &mut DbConnection,
    id: UserId,
    hash: PasswordHash,
    expired: bool,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    write_transaction(conn, |conn| {
        let user = users::find(conn, id)?.ok_or(ServiceError::UserNotFound(id))?;
        set_password_of(conn, user, hash, expired, actor, now)
    })
}

/// [`set_password`] for `before`, the user as the caller read it: written only if the row is
/// still at that version. Call it inside a [`write_transaction`] that an error rolls back.
pub fn set_password_of(
    conn: &mut DbConnection,
    before: User,
    hash: PasswordHash,
    expired: bool,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    let mut user = before.clone();
    apply_password(&mut user, hash, expired, now);
    user.updated_at = now;
    user.version += 1;
    let event = password_event(&actor.initiator, &user, set_by(actor));
    let update = UserChange::Update {
        before: &before,
        after: &user,
    };
    apply_user_change(conn, update, vec![event], now)?;
    // Directories get the new hash (held back while the user is suspended).
    super::provisioning::enqueue_for_user(conn, user.id, now)?;
    tracing::info!(user.id = %user.id, password_expired = expired, "password set");
    Ok(user)
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a one-time set-password token for `user_id`; only its digest is stored.
pub fn issue_link_token(
    conn: &mut DbConnection,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|error| StoreError::Unavailable(format!("no system randomness: {error}")))?;
    let token = hex::encode(secret);
    password_tokens::insert(
        conn,
        &token_digest(&token),
        &user_id.to_string(),
        now + LINK_VALIDITY,
        now,
    )?;
    Ok(token)
}

/// The user sets their own password through the link of an activation email. A suspended user
/// cannot (their access is revoked, so is this), and the link works once.
pub fn set_password_with_token(
    conn: &mut DbConnection,
    token: &str,
    hash: PasswordHash,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    let invalid =
        || InvalidField::new("token", "the set-password link is unknown, used or expired");
    write_transaction(conn, |conn| {
        let digest = token_digest(token);
        let stored = password_tokens::find(conn, &digest)?.ok_or_else(invalid)?;
        if stored.used || stored.expires_at <= now {
            return Err(invalid().into());
        }
        let id: UserId = stored.user_id.parse().map_err(|_| invalid())?;
        let before = users::find(conn, id)?.ok_or_else(invalid)?;
        if before.state == LifecycleState::Suspended {
            return Err(ServiceError::NotAllowed(
                "this account is suspended: its password cannot be set or reset until an \
                 administrator reactivates it"
                    .into(),
            ));
        }
        let mut user = before.clone();
        apply_password(&mut user, hash, false, now);
        user.updated_at = now;
        user.version += 1;
        // The user acts through a link Roster sent, so Roster is recorded as the initiator.
        let initiator = Initiator {
            kind: InitiatorKind::System,
            name: Some("set-password link".into()),
        };
        let event = password_event(&initiator, &user, "user");
        let update = UserChange::Update {
            before: &before,
            after: &user,
        };
        apply_user_change(conn, update, vec![event], now)?;
        password_tokens::mark_used(conn, &digest, now)?;
        super::provisioning::enqueue_for_user(conn, id, now)?;
        tracing::info!(user.id = %id, "password set through a one-time link");
        Ok(user)
    })
}

/// What a reset request did; the caller answers the same way for each, so that nobody can
/// learn which usernames exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetOutcome {
    Queued,
    /// The user is staged: staged users never get mail.
    SuppressedStaged,
    UnknownUser,
}

/// A user asks for a link to set a new password. An active user gets it (at the alternate
/// email, else the company email); a staged user gets nothing (recorded); a suspended user is
/// refused, since suspension revokes self-service too, and nothing is recorded or sent.
pub fn request_password_reset(
    conn: &mut DbConnection,
    username: &str,
    now: DateTime<Utc>,
) -> Result<ResetOutcome, ServiceError> {
    write_transaction(conn, |conn| {
        let Some(user) = users::find_by_username(conn, username)? else {
            return Ok(ResetOutcome::UnknownUser);
        };
        let (outcome, details) = match user.state {
            LifecycleState::Suspended => {
                return Err(ServiceError::NotAllowed(
                    "this account is suspended: its password cannot be reset until an \
                     administrator reactivates it"
                        .into(),
                ));
            }
            LifecycleState::Staged => (
                ResetOutcome::SuppressedStaged,
                json!({ "status": "suppressed", "reason": "staged users never receive email" }),
            ),
            LifecycleState::Activated => {
                let to = user.alternate_email.as_ref().unwrap_or(&user.email);
                let token = issue_link_token(conn, user.id, now)?;
                crate::store::email_outbox::enqueue(
                    conn,
                    &user.id.to_string(),
                    "password_reset",
                    to.as_str(),
                    Some(&token),
                    now,
                )?;
                (
                    ResetOutcome::Queued,
                    json!({ "status": "queued", "recipient_email": to }),
                )
            }
        };
        let event = NewAuditEvent {
            event_type: EventType::UserPasswordResetRequest,
            initiated_by: Initiator {
                kind: InitiatorKind::System,
                name: Some("password reset request".into()),
            },
            resource: AuditResource::user(user.id, user.username.as_str()),
            details,
        };
        crate::store::audit::append(conn, vec![event], now)?;
        tracing::info!(user.id = %user.id, outcome = ?outcome, "password reset requested");
        Ok(outcome)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_and_salted() {
        let policy = PasswordPolicy::default();
        let a = hash_password(&policy, "Correct-horse-9").expect("hash");
        let b = hash_password(&policy, "Correct-horse-9").expect("hash");
        assert!(
            a.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            a.0
        );
        assert_ne!(a, b, "a fresh salt each time");
        assert!(!format!("{a:?}").contains("argon2"));
    }

    #[test]
    fn a_weak_password_is_refused_before_hashing() {
        let error = hash_password(&PasswordPolicy::default(), "weak").expect_err("weak");
        assert!(
            error.to_string().contains("at least 12 characters"),
            "{error}"
        );
    }
}
