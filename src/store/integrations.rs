//! Integrations (identity providers pushing over SCIM), their tokens and the server's signing
//! secret.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::connection::per_backend;
use super::schema::{integrations, scim_tokens, server_secrets};
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError, write_transaction};
use crate::domain::IntegrationId;
use crate::domain::integration::Integration;

type IntegrationRow = (String, String, String, String, chrono::NaiveDateTime);

fn integration(
    (id, name, kind, options, created_at): IntegrationRow,
) -> Result<Integration, StoreError> {
    let corrupt = |what: &str| StoreError::corrupt(format!("integration {id}: bad {what}"));
    Ok(Integration {
        id: id.parse().map_err(|_| corrupt("id"))?,
        kind: kind.parse().map_err(|_| corrupt("kind"))?,
        policy: serde_json::from_str(&options).map_err(|_| corrupt("options"))?,
        name,
        created_at: from_db(created_at),
    })
}

const COLUMNS: (
    integrations::id,
    integrations::name,
    integrations::kind,
    integrations::options,
    integrations::created_at,
) = (
    integrations::id,
    integrations::name,
    integrations::kind,
    integrations::options,
    integrations::created_at,
);

pub fn find(conn: &mut DbConnection, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
    integrations::table
        .find(id.to_string())
        .select(COLUMNS)
        .first::<IntegrationRow>(conn)
        .optional()?
        .map(integration)
        .transpose()
}

pub fn find_by_name(
    conn: &mut DbConnection,
    name: &str,
) -> Result<Option<Integration>, StoreError> {
    integrations::table
        .filter(integrations::name.eq(name))
        .select(COLUMNS)
        .first::<IntegrationRow>(conn)
        .optional()?
        .map(integration)
        .transpose()
}

pub fn insert(conn: &mut DbConnection, integration: &Integration) -> Result<(), StoreError> {
    let options = serde_json::to_string(&integration.policy).map_err(StoreError::corrupt)?;
    diesel::insert_into(integrations::table)
        .values((
            integrations::id.eq(integration.id.to_string()),
            integrations::name.eq(&integration.name),
            integrations::kind.eq(integration.kind.as_str()),
            integrations::options.eq(options),
            integrations::created_at.eq(to_db(integration.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces an integration's kind and lifecycle policy.
pub fn update(conn: &mut DbConnection, integration: &Integration) -> Result<(), StoreError> {
    let options = serde_json::to_string(&integration.policy).map_err(StoreError::corrupt)?;
    diesel::update(integrations::table.find(integration.id.to_string()))
        .set((
            integrations::kind.eq(integration.kind.as_str()),
            integrations::options.eq(options),
        ))
        .execute(conn)?;
    Ok(())
}

/// A SCIM token as stored: which integration it speaks for and whether it is still good. The
/// token itself is never stored; it is a signed JWT naming this record's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: Uuid,
    pub integration_id: IntegrationId,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

type TokenRow = (
    String,
    String,
    bool,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
);

fn token(
    (id, integration_id, read_only, created_at, revoked_at): TokenRow,
) -> Result<TokenRecord, StoreError> {
    let corrupt = |what: &str| StoreError::corrupt(format!("SCIM token {id}: bad {what}"));
    Ok(TokenRecord {
        id: id.parse().map_err(|_| corrupt("id"))?,
        integration_id: integration_id
            .parse()
            .map_err(|_| corrupt("integration id"))?,
        read_only,
        created_at: from_db(created_at),
        revoked_at: revoked_at.map(from_db),
    })
}

const TOKEN_COLUMNS: (
    scim_tokens::id,
    scim_tokens::integration_id,
    scim_tokens::read_only,
    scim_tokens::created_at,
    scim_tokens::revoked_at,
) = (
    scim_tokens::id,
    scim_tokens::integration_id,
    scim_tokens::read_only,
    scim_tokens::created_at,
    scim_tokens::revoked_at,
);

pub fn insert_token(conn: &mut DbConnection, record: &TokenRecord) -> Result<(), StoreError> {
    diesel::insert_into(scim_tokens::table)
        .values((
            scim_tokens::id.eq(record.id.to_string()),
            scim_tokens::integration_id.eq(record.integration_id.to_string()),
            scim_tokens::read_only.eq(record.read_only),
            scim_tokens::created_at.eq(to_db(record.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_token(conn: &mut DbConnection, id: Uuid) -> Result<Option<TokenRecord>, StoreError> {
    scim_tokens::table
        .find(id.to_string())
        .select(TOKEN_COLUMNS)
        .first::<TokenRow>(conn)
        .optional()?
        .map(token)
        .transpose()
}

/// A token and the integration it speaks for, in one query: every SCIM request needs both.
/// `None` when no token has this id.
pub fn find_token_with_integration(
    conn: &mut DbConnection,
    id: Uuid,
) -> Result<Option<(TokenRecord, Integration)>, StoreError> {
    let id = id.to_string();
    // Checked on every SCIM request: on the concrete connection the prepared statement is found
    // by the query's type, without writing out its SQL first.
    let Some((token_row, integration_row)) = per_backend!(conn, |c| scim_tokens::table
        .inner_join(integrations::table)
        .filter(scim_tokens::id.eq(&id))
        .select((TOKEN_COLUMNS, COLUMNS))
        .first::<(TokenRow, IntegrationRow)>(c)
        .optional())?
    else {
        return Ok(None);
    };
    Ok(Some((token(token_row)?, integration(integration_row)?)))
}

/// The integration of the token with this id, if the token exists, is not revoked and its
/// integration exists: all a SCIM read asks of its token, on every request. Only the id is
/// read, so nothing needs decoding.
pub fn live_token_integration(
    conn: &mut DbConnection,
    id: Uuid,
) -> Result<Option<String>, StoreError> {
    let id = id.to_string();
    Ok(per_backend!(conn, |c| scim_tokens::table
        .inner_join(integrations::table)
        .filter(scim_tokens::id.eq(&id))
        .filter(scim_tokens::revoked_at.is_null())
        .select(scim_tokens::integration_id)
        .first::<String>(c)
        .optional())?)
}

/// The tokens of one integration, oldest first.
pub fn tokens_of(
    conn: &mut DbConnection,
    integration: IntegrationId,
) -> Result<Vec<TokenRecord>, StoreError> {
    scim_tokens::table
        .filter(scim_tokens::integration_id.eq(integration.to_string()))
        .order(scim_tokens::created_at.asc())
        .select(TOKEN_COLUMNS)
        .load::<TokenRow>(conn)?
        .into_iter()
        .map(token)
        .collect()
}

/// Marks a token revoked; false when it is unknown or was already revoked.
pub fn revoke_token(
    conn: &mut DbConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let updated = diesel::update(scim_tokens::table.find(id.to_string()))
        .filter(scim_tokens::revoked_at.is_null())
        .set(scim_tokens::revoked_at.eq(Some(to_db(now))))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The secret named `name`, created with `generate` the first time anyone asks. The write
/// transaction makes two processes asking at once agree on one value.
pub fn server_secret(
    conn: &mut DbConnection,
    name: &str,
    now: DateTime<Utc>,
    generate: impl FnOnce() -> String,
) -> Result<String, StoreError> {
    let stored = server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .first::<String>(conn)
        .optional()?;
    if let Some(value) = stored {
        return Ok(value);
    }
    write_transaction(conn, |conn| {
        let stored = server_secrets::table
            .find(name)
            .select(server_secrets::value)
            .first::<String>(conn)
            .optional()?;
        if let Some(value) = stored {
            return Ok(value);
        }
        let value = generate();
        diesel::insert_into(server_secrets::table)
            .values((
                server_secrets::name.eq(name),
                server_secrets::value.eq(&value),
                server_secrets::created_at.eq(to_db(now)),
            ))
            .execute(conn)?;
        Ok(value)
    })
}
