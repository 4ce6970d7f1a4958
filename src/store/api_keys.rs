//! Admin API keys, stored as digests.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::api_keys;
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError};

/// A key as stored: its name and when it was made or revoked, never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

type Row = (
    String,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
);

fn record((id, name, created_at, revoked_at): Row) -> ApiKeyRecord {
    ApiKeyRecord {
        id,
        name,
        created_at: from_db(created_at),
        revoked_at: revoked_at.map(from_db),
    }
}

const COLUMNS: (
    api_keys::id,
    api_keys::name,
    api_keys::created_at,
    api_keys::revoked_at,
) = (
    api_keys::id,
    api_keys::name,
    api_keys::created_at,
    api_keys::revoked_at,
);

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(id),
            api_keys::name.eq(name),
            api_keys::key_hash.eq(key_hash),
            api_keys::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The unrevoked key with this digest.
pub fn find_active(
    conn: &mut DbConnection,
    key_hash: &str,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(COLUMNS)
        .first::<Row>(conn)
        .optional()?
        .map(record))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ApiKeyRecord>, StoreError> {
    Ok(api_keys::table
        .order(api_keys::created_at.asc())
        .select(COLUMNS)
        .load::<Row>(conn)?
        .into_iter()
        .map(record)
        .collect())
}

/// Revokes the named key; false when no unrevoked key has that name.
pub fn revoke(conn: &mut DbConnection, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let revoked = diesel::update(api_keys::table)
        .filter(api_keys::name.eq(name))
        .filter(api_keys::revoked_at.is_null())
        .set(api_keys::revoked_at.eq(to_db(now)))
        .execute(conn)?;
    Ok(revoked > 0)
}
