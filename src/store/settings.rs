//! Organization settings, each a JSON document under a fixed key.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::settings;
use super::time::to_db;
use super::{DbConnection, StoreError};
use crate::domain::StateDefaults;

const STATE_DEFAULTS: &str = "newSystemUserStateDefaults";

/// The default states for new users; the fresh-install defaults when never set.
pub fn state_defaults(conn: &mut DbConnection) -> Result<StateDefaults, StoreError> {
    let stored: Option<String> = settings::table
        .find(STATE_DEFAULTS)
        .select(settings::value)
        .first(conn)
        .optional()?;
    match stored {
        Some(json) => serde_json::from_str(&json).map_err(StoreError::corrupt),
        None => Ok(StateDefaults::default()),
    }
}

/// Replaces the default states for new users.
pub fn set_state_defaults(
    conn: &mut DbConnection,
    defaults: &StateDefaults,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let value = serde_json::to_string(defaults).map_err(StoreError::corrupt)?;
    // Update, then insert if there was nothing to update: portable across both backends, and
    // safe because callers hold a write transaction.
    let updated = diesel::update(settings::table.find(STATE_DEFAULTS))
        .set((
            settings::value.eq(&value),
            settings::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(settings::table)
            .values((
                settings::key.eq(STATE_DEFAULTS),
                settings::value.eq(&value),
                settings::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
