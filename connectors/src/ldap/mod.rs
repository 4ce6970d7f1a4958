//! The LDAP connector: brings one user's entry in a directory to the state Roster wants, with
//! operations that can be repeated safely (the outbox delivers at least once).

mod mapping;

use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use tokio::sync::Mutex;

pub use mapping::{
    LdapAccount, PERMANENT_LOCK, POSIX_ACCOUNT, PosixIdentity, entry_dn, lock_modification,
    new_entry, password_modification, password_value, profile_modifications, uid_filter,
};

/// What Roster reads of an existing entry before changing it.
struct StoredEntry {
    password: Option<String>,
    is_posix_account: bool,
}

/// How to reach a directory as Roster's service account.
#[derive(Clone)]
pub struct LdapSettings {
    pub url: String,
    pub bind_dn: String,
    pub bind_password: String,
    /// Where user entries live, e.g. `ou=people,dc=example,dc=com`.
    pub base_dn: String,
    /// Limit for connecting and for each operation.
    pub timeout: Duration,
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("base_dn", &self.base_dn)
            .finish_non_exhaustive()
    }
}

/// The entry Roster wants for a user.
#[derive(Debug, Clone)]
pub enum Desired {
    /// Present, unlocked, with the user's password.
    Enabled(LdapAccount),
    /// Kept and locked; the password in the directory is left alone (held back).
    Locked(LdapAccount),
    /// No entry.
    Absent,
}

/// What the directory holds for the user after a successful apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The entry's DN, or `None` when there is no entry.
    pub dn: Option<String>,
    pub locked: bool,
    /// The entry was added by this apply.
    pub created: bool,
}

/// How a failure should be handled. `TargetRefused` here means 49 on the service bind, or 50.
pub use crate::FailureKind;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LdapFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl LdapFailure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    fn from_error(operation: &str, error: LdapError) -> Self {
        let kind = match &error {
            LdapError::LdapResult { result } => match result.rc {
                50 => FailureKind::TargetRefused,
                // busy, unavailable, unwilling-to-perform-for-now, timeouts, server down
                3 | 51 | 52 | 80 | 81 => FailureKind::Transient,
                _ => FailureKind::Permanent,
            },
            LdapError::InvalidScopeString(_)
            | LdapError::DecodingUTF8
            | LdapError::FilterParsing
            | LdapError::AddNoValues
            | LdapError::UrlParsing { .. }
            | LdapError::UnknownScheme(_) => FailureKind::Permanent,
            _ => FailureKind::Transient,
        };
        Self::new(kind, format!("LDAP {operation} failed: {error}"))
    }
}

fn rc_of(error: &LdapError) -> Option<u32> {
    match error {
        LdapError::LdapResult { result } => Some(result.rc),
        _ => None,
    }
}

/// One directory, with one multiplexed connection bound as the service account, opened on
/// first use and reopened after a failure.
pub struct LdapTarget {
    settings: LdapSettings,
    connection: Mutex<Option<ldap3::Ldap>>,
}

impl LdapTarget {
    pub fn new(settings: LdapSettings) -> Self {
        Self {
            settings,
            connection: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }

    async fn connect(settings: &LdapSettings) -> Result<ldap3::Ldap, LdapFailure> {
        let (conn, mut ldap) = LdapConnAsync::with_settings(
            LdapConnSettings::new().set_conn_timeout(settings.timeout),
            &settings.url,
        )
        .await
        .map_err(|e| LdapFailure::from_error("connect", e))?;
        ldap3::drive!(conn);
        let bound = ldap
            .with_timeout(settings.timeout)
            .simple_bind(&settings.bind_dn, &settings.bind_password)
            .await
            .and_then(|r| r.success());
        match bound {
            Ok(_) => Ok(ldap),
            Err(error) if matches!(rc_of(&error), Some(49 | 50 | 53)) => Err(LdapFailure::new(
                FailureKind::TargetRefused,
                format!(
                    "the directory refused Roster's service bind as {}: {error}",
                    settings.bind_dn
                ),
            )),
            Err(error) => Err(LdapFailure::from_error("service bind", error)),
        }
    }

    async fn handle(&self) -> Result<ldap3::Ldap, LdapFailure> {
        let mut slot = self.connection.lock().await;
        if let Some(ldap) = slot.as_mut()
            && !ldap.is_closed()
        {
            return Ok(ldap.clone());
        }
        let ldap = Self::connect(&self.settings).await?;
        *slot = Some(ldap.clone());
        Ok(ldap)
    }

    /// Drops the connection after a failure that may have broken it.
    async fn reset(&self, failure: &LdapFailure) {
        if failure.kind == FailureKind::Transient {
            *self.connection.lock().await = None;
        }
    }

    /// Checks that the service account can bind (used to resume a paused target).
    pub async fn check(&self) -> Result<(), LdapFailure> {
        *self.connection.lock().await = None;
        self.handle().await.map(|_| ())
    }

    /// Brings the user's entry to `desired`. `known_dn` is the DN Roster last wrote for the
    /// user, if any (it differs from the computed one after a rename).
    pub async fn apply(
        &self,
        known_dn: Option<&str>,
        desired: &Desired,
    ) -> Result<Applied, LdapFailure> {
        let result = self.apply_once(known_dn, desired).await;
        if let Err(failure) = &result {
            self.reset(failure).await;
        }
        result
    }

    async fn apply_once(
        &self,
        known_dn: Option<&str>,
        desired: &Desired,
    ) -> Result<Applied, LdapFailure> {
        let mut ldap = self.handle().await?;
        let timeout = self.settings.timeout;
        let (account, locked) = match desired {
            Desired::Absent => {
                if let Some(dn) = known_dn {
                    match ldap
                        .with_timeout(timeout)
                        .delete(dn)
                        .await
                        .and_then(|r| r.success())
                    {
                        Ok(_) => {}
                        Err(e) if rc_of(&e) == Some(32) => {} // already gone
                        Err(e) => return Err(LdapFailure::from_error("delete", e)),
                    }
                }
                return Ok(Applied {
                    dn: None,
                    locked: false,
                    created: false,
                });
            }
            Desired::Enabled(account) => (account, false),
            Desired::Locked(account) => (account, true),
        };
        let dn = entry_dn(&account.uid, &self.settings.base_dn);
        if let Some(old) = known_dn.filter(|old| !old.eq_ignore_ascii_case(&dn)) {
            self.rename(&mut ldap, old, &account.uid).await?;
        }
        let stored = match self.read_entry(&mut ldap, &dn).await? {
            Some(stored) => Some(stored),
            None if locked => {
                // Nothing was ever written for this user: a suspended user gets no entry.
                return Ok(Applied {
                    dn: None,
                    locked: true,
                    created: false,
                });
            }
            None => match ldap
                .with_timeout(timeout)
                .add(&dn, new_entry(account, false))
                .await
                .and_then(|r| r.success())
            {
                Ok(_) => None,
                // Added meanwhile (a repeated job): reconcile with what is there.
                Err(e) if rc_of(&e) == Some(68) => {
                    Some(self.read_entry(&mut ldap, &dn).await?.ok_or_else(|| {
                        LdapFailure::new(
                            FailureKind::Transient,
                            format!("{dn} was added and removed again meanwhile"),
                        )
                    })?)
                }
                Err(e) => return Err(LdapFailure::from_error("add", e)),
            },
        };
        let created = stored.is_none();
        if let Some(stored) = &stored {
            let mut mods = profile_modifications(account, stored.is_posix_account);
            mods.push(lock_modification(locked));
            ldap.with_timeout(timeout)
                .modify(&dn, mods)
                .await
                .and_then(|r| r.success())
                .map_err(|e| LdapFailure::from_error("modify", e))?;
            // A password change unlocks a locked entry, so it waits for reactivation, and then
            // goes in its own operation after the unlock.
            let wanted = account.password_hash.as_deref().map(password_value);
            if !locked && stored.password != wanted {
                ldap.with_timeout(timeout)
                    .modify(&dn, vec![password_modification(account)])
                    .await
                    .and_then(|r| r.success())
                    .map_err(|e| LdapFailure::from_error("password modify", e))?;
            }
            if locked {
                self.verify_locked(&mut ldap, &dn).await?;
            }
        }
        Ok(Applied {
            dn: Some(dn),
            locked,
            created,
        })
    }

    /// `None` when there is no entry.
    async fn read_entry(
        &self,
        ldap: &mut ldap3::Ldap,
        dn: &str,
    ) -> Result<Option<StoredEntry>, LdapFailure> {
        let found = ldap
            .with_timeout(self.settings.timeout)
            .search(
                dn,
                Scope::Base,
                "(objectClass=*)",
                vec!["userPassword", "objectClass"],
            )
            .await
            .and_then(|r| r.success());
        match found {
            Ok((entries, _)) => Ok(entries.into_iter().next().map(|entry| {
                let entry = SearchEntry::construct(entry);
                let password = entry
                    .attrs
                    .get("userPassword")
                    .and_then(|v| v.first().cloned())
                    .or_else(|| {
                        entry.bin_attrs.get("userPassword").and_then(|v| {
                            v.first().map(|b| String::from_utf8_lossy(b).into_owned())
                        })
                    });
                let is_posix_account = entry.attrs.get("objectClass").is_some_and(|classes| {
                    classes
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case(POSIX_ACCOUNT))
                });
                StoredEntry {
                    password,
                    is_posix_account,
                }
            })),
            Err(e) if rc_of(&e) == Some(32) => Ok(None),
            Err(e) => Err(LdapFailure::from_error("search", e)),
        }
    }

    async fn verify_locked(&self, ldap: &mut ldap3::Ldap, dn: &str) -> Result<(), LdapFailure> {
        let (entries, _) = ldap
            .with_timeout(self.settings.timeout)
            .search(
                dn,
                Scope::Base,
                "(pwdAccountLockedTime=*)",
                vec!["pwdAccountLockedTime"],
            )
            .await
            .and_then(|r| r.success())
            .map_err(|e| LdapFailure::from_error("lock read-back", e))?;
        if entries.is_empty() {
            return Err(LdapFailure::new(
                FailureKind::Transient,
                format!("the lock on {dn} did not hold when read back"),
            ));
        }
        Ok(())
    }

    async fn rename(
        &self,
        ldap: &mut ldap3::Ldap,
        old: &str,
        uid: &str,
    ) -> Result<(), LdapFailure> {
        let rdn = format!("uid={}", ldap3::dn_escape(uid));
        match ldap
            .with_timeout(self.settings.timeout)
            .modifydn(old, &rdn, true, None)
            .await
            .and_then(|r| r.success())
        {
            Ok(_) => Ok(()),
            Err(e) if rc_of(&e) == Some(32) => Ok(()), // the old entry is gone: add anew
            Err(e) => Err(LdapFailure::from_error("rename", e)),
        }
    }

    /// Proves on this directory that a lock refuses a bind: adds a throwaway entry with a
    /// password, checks it binds, locks it, checks the bind is refused, and removes it.
    /// Without a password policy covering the entry, OpenLDAP ignores the lock silently.
    pub async fn canary(&self) -> Result<(), LdapFailure> {
        let mut ldap = self.handle().await?;
        let timeout = self.settings.timeout;
        let token = {
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default(),
            );
            format!("{:016x}", hasher.finish())
        };
        let uid = format!("roster-canary-{token}");
        let password = format!("canary-{token}-Aa1!");
        let dn = entry_dn(&uid, &self.settings.base_dn);
        let entry = vec![
            (
                "objectClass".to_owned(),
                ["top", "person", "organizationalPerson", "inetOrgPerson"]
                    .map(String::from)
                    .into_iter()
                    .collect(),
            ),
            ("uid".to_owned(), [uid.clone()].into_iter().collect()),
            ("cn".to_owned(), [uid.clone()].into_iter().collect()),
            ("sn".to_owned(), [uid.clone()].into_iter().collect()),
            (
                "userPassword".to_owned(),
                [password.clone()].into_iter().collect(),
            ),
        ];
        ldap.with_timeout(timeout)
            .add(&dn, entry)
            .await
            .and_then(|r| r.success())
            .map_err(|e| LdapFailure::from_error("canary add", e))?;
        let outcome = async {
            bind_check(&self.settings.url, &dn, &password, timeout)
                .await
                .map_err(|refused| LdapFailure::new(FailureKind::Permanent, format!("the canary entry cannot bind before it is locked ({refused})")))?;
            ldap.with_timeout(timeout)
                .modify(&dn, vec![lock_modification(true)])
                .await
                .and_then(|r| r.success())
                .map_err(|e| LdapFailure::from_error("canary lock", e))?;
            match bind_check(&self.settings.url, &dn, &password, timeout).await {
                Err(BindRefused::Rejected(49)) => Ok(()),
                Ok(()) => Err(LdapFailure::new(
                    FailureKind::TargetRefused,
                    "the directory ignores pwdAccountLockedTime: a locked entry still binds; load the ppolicy overlay with a default policy (pwdLockout: TRUE) that covers the user entries",
                )),
                Err(other) => Err(LdapFailure::new(FailureKind::Transient, format!("the canary lock check failed: {other}"))),
            }
        }
        .await;
        let cleanup = ldap
            .with_timeout(timeout)
            .delete(&dn)
            .await
            .and_then(|r| r.success());
        if let Err(e) = cleanup {
            tracing::warn!(dn = %dn, error.message = %e, "could not remove the LDAP canary entry");
        }
        outcome
    }
}

/// Why a bind check did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindRefused {
    #[error("the directory refused the bind with result code {0}")]
    Rejected(u32),
    #[error("an empty password is never tried (it would be an unauthenticated bind)")]
    EmptyPassword,
    #[error("the directory could not be reached: {0}")]
    Unreachable(String),
}

/// Binds as `dn` with `password` on a fresh connection, as an application would.
pub async fn bind_check(
    url: &str,
    dn: &str,
    password: &str,
    timeout: Duration,
) -> Result<(), BindRefused> {
    if password.is_empty() {
        return Err(BindRefused::EmptyPassword);
    }
    let (conn, mut ldap) =
        LdapConnAsync::with_settings(LdapConnSettings::new().set_conn_timeout(timeout), url)
            .await
            .map_err(|e| BindRefused::Unreachable(e.to_string()))?;
    ldap3::drive!(conn);
    let result = ldap
        .with_timeout(timeout)
        .simple_bind(dn, password)
        .await
        .map_err(|e| BindRefused::Unreachable(e.to_string()))?;
    let _ = ldap.unbind().await;
    match result.rc {
        0 => Ok(()),
        rc => Err(BindRefused::Rejected(rc)),
    }
}
