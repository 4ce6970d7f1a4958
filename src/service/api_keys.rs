//! Admin API keys: minted once, shown once, kept only as a SHA-256 digest, revocable by name.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::ServiceError;
use crate::store::api_keys::{self, ApiKeyRecord};
use crate::store::{DbConnection, StoreError};

/// Every key starts with this, so a leaked key is recognisable (secret scanners, logs).
const KEY_PREFIX: &str = "roster_";

/// A newly minted key: the only moment its clear text exists.
pub struct MintedKey {
    pub record: ApiKeyRecord,
    pub key: String,
}

fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Mints a key named `name` (names are unique, so a key can be revoked by name).
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<MintedKey, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(crate::domain::user::InvalidField::new(
            "name",
            "an API key needs a name of 1 to 200 characters",
        )
        .into());
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|error| StoreError::Unavailable(format!("no system randomness: {error}")))?;
    let key = format!("{KEY_PREFIX}{}", hex::encode(secret));
    let id = uuid::Uuid::now_v7().to_string();
    api_keys::insert(conn, &id, name, &digest(&key), now)?;
    tracing::info!(api_key.name = name, "API key created");
    Ok(MintedKey {
        record: ApiKeyRecord {
            id,
            name: name.to_owned(),
            created_at: now,
            revoked_at: None,
        },
        key,
    })
}

/// The key a request presented, if it is known and not revoked.
pub fn authenticate(
    conn: &mut DbConnection,
    presented: &str,
) -> Result<Option<ApiKeyRecord>, ServiceError> {
    if !presented.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    Ok(api_keys::find_active(conn, &digest(presented))?)
}

/// Revokes the named key; false when there is no such unrevoked key.
pub fn revoke(
    conn: &mut DbConnection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let revoked = api_keys::revoke(conn, name, now)?;
    if revoked {
        tracing::info!(api_key.name = name, "API key revoked");
    }
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_each_backend;

    #[test]
    fn a_minted_key_authenticates_until_revoked() {
        on_each_backend(|store| {
            let mut conn = store.conn().expect("conn");
            let minted = create(&mut conn, "deploy-script", Utc::now()).expect("create");
            assert!(minted.key.starts_with(KEY_PREFIX));
            let found = authenticate(&mut conn, &minted.key).expect("lookup");
            assert_eq!(found.map(|r| r.name), Some("deploy-script".into()));
            assert!(
                authenticate(&mut conn, "roster_wrong")
                    .expect("lookup")
                    .is_none()
            );
            assert!(revoke(&mut conn, "deploy-script", Utc::now()).expect("revoke"));
            assert!(
                authenticate(&mut conn, &minted.key)
                    .expect("lookup")
                    .is_none()
            );
            assert!(!revoke(&mut conn, "deploy-script", Utc::now()).expect("revoke again"));
        });
    }

    #[test]
    fn key_names_are_unique_and_keys_are_not_stored_in_clear() {
        on_each_backend(|store| {
            let mut conn = store.conn().expect("conn");
            let minted = create(&mut conn, "ops", Utc::now()).expect("create");
            let error = create(&mut conn, "ops", Utc::now())
                .err()
                .expect("duplicate name");
            assert!(matches!(error, ServiceError::Duplicate(_)), "{error:?}");
            use diesel::prelude::*;
            let stored: Vec<String> = crate::store::schema::api_keys::table
                .select(crate::store::schema::api_keys::key_hash)
                .load(&mut *conn)
                .expect("read");
            assert!(
                !stored
                    .iter()
                    .any(|h| h.contains(&minted.key[KEY_PREFIX.len()..]))
            );
        });
    }
}
