//! The one organization this server manages: its id and name, fixed at install.

use diesel::prelude::*;
use serde::Deserialize;

use super::schema::settings;
use super::{DbConnection, StoreError};

/// The organization as stored under the `organization` settings key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Organization {
    /// 24 hexadecimal digits, like a JumpCloud organization id.
    pub id: String,
    pub name: String,
}

pub fn get(conn: &mut DbConnection) -> Result<Organization, StoreError> {
    let json: Option<String> = settings::table
        .find("organization")
        .select(settings::value)
        .first(conn)
        .optional()?;
    let json = json.ok_or_else(|| StoreError::corrupt("the organization record is missing"))?;
    serde_json::from_str(&json).map_err(StoreError::corrupt)
}
