//! One-time set-password tokens, kept as SHA-256 digests.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::password_tokens;
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError};

pub fn insert(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(password_tokens::table)
        .values((
            password_tokens::token_hash.eq(token_hash),
            password_tokens::user_id.eq(user_id),
            password_tokens::expires_at.eq(to_db(expires_at)),
            password_tokens::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A token as stored: whose it is, until when it is valid, and whether it was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

pub fn find(conn: &mut DbConnection, token_hash: &str) -> Result<Option<StoredToken>, StoreError> {
    let row: Option<(String, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> =
        password_tokens::table
            .find(token_hash)
            .select((
                password_tokens::user_id,
                password_tokens::expires_at,
                password_tokens::used_at,
            ))
            .first(conn)
            .optional()?;
    Ok(row.map(|(user_id, expires_at, used_at)| StoredToken {
        user_id,
        expires_at: from_db(expires_at),
        used: used_at.is_some(),
    }))
}

pub fn mark_used(
    conn: &mut DbConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(password_tokens::table.find(token_hash))
        .set(password_tokens::used_at.eq(Some(to_db(now))))
        .execute(conn)?;
    Ok(())
}
