//! Checking the signatures of SCIM bearer tokens once per server rather than once per request.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};

use super::scim_tokens::{self, TokenRejected, VerifiedToken};
use crate::store::{DbConnection, StoreError};

/// How many distinct tokens are remembered. An organization has a handful of integrations
/// with a token or two each; past this the memory is simply emptied and refilled.
const REMEMBERED_TOKENS: usize = 256;

/// Holds the signing secret once read and the tokens whose signature and claims already
/// passed. A token carries no expiry and its signature cannot change, so checking the same
/// text again would give the same answer; whether its record is still unrevoked is not
/// remembered here and is asked of the database on every request
/// ([`scim_tokens::check_record`]).
#[derive(Default)]
pub struct TokenVerifier {
    secret: OnceLock<Vec<u8>>,
    verified: Mutex<HashMap<String, VerifiedToken>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the secret nor the tokens are ever printed.
        f.debug_struct("TokenVerifier")
            .field("secret_loaded", &self.secret.get().is_some())
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// The signing secret, when an earlier call to [`TokenVerifier::load_secret`] read it.
    pub fn secret(&self) -> Option<&[u8]> {
        self.secret.get().map(Vec::as_slice)
    }

    /// Reads the signing secret, generating and storing it when the database has none yet
    /// (which is a write), and keeps it: it never changes once stored.
    pub fn load_secret(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
    ) -> Result<&[u8], StoreError> {
        if let Some(secret) = self.secret.get() {
            return Ok(secret);
        }
        let secret = scim_tokens::secret(conn, now)?;
        Ok(self.secret.get_or_init(|| secret))
    }

    /// Checks the token's signature and claims against `secret`, or remembers that it passed.
    /// Only tokens that pass are remembered, so a stream of forged ones cannot crowd them out.
    pub fn verify(&self, secret: &[u8], token: &str) -> Result<VerifiedToken, TokenRejected> {
        if let Some(verified) = self.remembered().get(token) {
            return Ok(*verified);
        }
        let verified = scim_tokens::verify(secret, token)?;
        let mut remembered = self.remembered();
        if remembered.len() >= REMEMBERED_TOKENS {
            remembered.clear();
        }
        remembered.insert(token.to_owned(), verified);
        Ok(verified)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<String, VerifiedToken>> {
        // The map holds only finished inserts, so a panic elsewhere cannot leave it half-made.
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_each_backend;

    #[test]
    fn a_remembered_token_is_still_refused_once_revoked_and_forgeries_are_not_remembered() {
        on_each_backend(|store| {
            let conn = &mut store.conn().expect("conn");
            let now = Utc::now();
            let issued = scim_tokens::issue(conn, "okta", None, false, now).expect("issue");
            let verifier = TokenVerifier::default();
            assert!(verifier.secret().is_none());
            let secret = verifier.load_secret(conn, now).expect("secret").to_vec();
            assert_eq!(verifier.secret(), Some(secret.as_slice()));

            for _ in 0..2 {
                let verified = verifier.verify(&secret, &issued.token).expect("verifies");
                scim_tokens::check_record(conn, &verified).expect("unrevoked");
            }
            assert!(scim_tokens::revoke(conn, issued.record.id, now).expect("revoke"));
            let verified = verifier
                .verify(&secret, &issued.token)
                .expect("still signed");
            assert!(matches!(
                scim_tokens::check_record(conn, &verified),
                Err(TokenRejected::Revoked)
            ));

            let forged = format!("{}x", issued.token);
            assert!(verifier.verify(&secret, &forged).is_err());
            assert!(verifier.verify(&secret, &forged).is_err());
            assert_eq!(verifier.remembered().len(), 1);
        });
    }
}
