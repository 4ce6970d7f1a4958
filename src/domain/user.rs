//! The user record: the JumpCloud `systemuser` fields that matter to lifecycle and provisioning.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{LifecycleState, StateSource, UserId};

/// The longest value any text field accepts, as in JumpCloud's API.
pub const MAX_FIELD_LEN: usize = 1024;

/// A login name. Unique across the directory regardless of case; kept as it was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

/// A value refused by one of the parsing constructors, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidField {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

impl UserName {
    pub fn parse(text: &str) -> Result<Self, InvalidField> {
        let invalid = |reason: &str| InvalidField::new("username", reason);
        if text.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if text.len() > MAX_FIELD_LEN {
            return Err(invalid("must be at most 1024 bytes"));
        }
        if text.trim() != text || text.chars().any(char::is_control) {
            return Err(invalid(
                "must not start or end with spaces or contain control characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on: two names that differ only in case are the same user.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for UserName {
    type Error = InvalidField;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<UserName> for String {
    fn from(name: UserName) -> Self {
        name.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, lower-cased on the way in as JumpCloud does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// The domain of the stand-in address of a user an identity provider created without any
/// email: the record, like JumpCloud's, always has an address, and RFC 2606 reserves `.invalid`
/// so nothing can ever be delivered there. Such an address is never shown over SCIM, sent to a
/// target or mailed to.
pub const STAND_IN_EMAIL_DOMAIN: &str = "no-email.roster.invalid";

impl Email {
    /// The stand-in address of the user `id`, who has no email.
    pub fn stand_in(id: UserId) -> Self {
        Self(format!("{id}@{STAND_IN_EMAIL_DOMAIN}"))
    }

    /// Whether this is a stand-in for a missing address rather than a real one.
    pub fn is_stand_in(&self) -> bool {
        self.0
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain == STAND_IN_EMAIL_DOMAIN)
    }

    /// Accepts `local@domain` with a non-empty local part and a dotless-or-dotted domain; the
    /// full RFC 5322 grammar is not worth enforcing, a mail server has the last word.
    pub fn parse(field: &'static str, text: &str) -> Result<Self, InvalidField> {
        let invalid = |reason: &str| InvalidField::new(field, reason);
        let text = text.trim();
        if text.len() > MAX_FIELD_LEN {
            return Err(invalid("must be at most 1024 bytes"));
        }
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(invalid("must be an address of the form name@domain"));
        };
        if local.is_empty() || domain.is_empty() || domain.starts_with('.') {
            return Err(invalid("must be an address of the form name@domain"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        Ok(Self(text.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidField;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse("email", &text)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number with its kind (`work`, `mobile`, ...), as JumpCloud and SCIM carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    #[serde(rename = "type")]
    pub kind: String,
    pub number: String,
}

/// A postal address with its kind (`work`, `home`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The password side of an account, independent of its state (JumpCloud's `activated`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordStatus {
    /// Argon2id PHC string; `None` until a password is set. Never logged, never returned.
    pub hash: Option<String>,
    /// The user must choose a new password at the next login.
    pub expired: bool,
    pub set_at: Option<DateTime<Utc>>,
}

/// Shows whether a hash is present, never the hash itself, so that no log can leak it.
impl fmt::Debug for PasswordStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordStatus")
            .field("hash", &self.hash.as_ref().map(|_| "<redacted>"))
            .field("expired", &self.expired)
            .field("set_at", &self.set_at)
            .finish()
    }
}

impl PasswordStatus {
    pub fn unset() -> Self {
        Self {
            hash: None,
            expired: false,
            set_at: None,
        }
    }

    /// JumpCloud's `activated` field: true once a password is set, whatever the state.
    pub fn is_set(&self) -> bool {
        self.hash.is_some()
    }
}

/// Where a user record came from (`admin`, `scim:<integration>`, `import:csv`, `bulk:<source>`).
pub type CreationSource = String;

/// The label of a user's email address when nobody gave it one.
pub const DEFAULT_EMAIL_TYPE: &str = "work";
/// The label of a user's alternate email address when nobody gave it one.
pub const DEFAULT_ALTERNATE_EMAIL_TYPE: &str = "other";

/// A user of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: UserName,
    pub email: Email,
    /// The label an identity provider gave the address (SCIM `emails[].type`): `work` unless told.
    pub email_type: String,
    /// False only when an identity provider sent the address without marking it primary.
    pub email_primary: bool,
    pub alternate_email: Option<Email>,
    /// The label of the alternate address: `other` unless told.
    pub alternate_email_type: String,
    /// The full name as an identity provider spelled it (SCIM `name.formatted`), if it did.
    pub formatted_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    /// The HR system's id for the person; unique when present.
    pub employee_identifier: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub company: Option<String>,
    pub cost_center: Option<String>,
    /// The division of the organization (SCIM enterprise `division`).
    pub division: Option<String>,
    /// The POSIX user and group ids (JumpCloud's `unix_uid` and `unix_guid`), which LDAP
    /// directories with `posixAccount` entries use. Roster assigns both when it creates the
    /// user; `None` only until then.
    pub unix_uid: Option<i64>,
    pub unix_guid: Option<i64>,
    pub location: Option<String>,
    pub employee_type: Option<String>,
    pub manager: Option<UserId>,
    pub phone_numbers: Vec<PhoneNumber>,
    pub addresses: Vec<Address>,
    /// The account domain-joined devices use to reach the directory; never suspended.
    pub samba_service_user: bool,
    /// The identifier the identity provider that owns this user knows it by (SCIM externalId).
    pub external_id: Option<String>,
    pub state: LifecycleState,
    pub state_source: StateSource,
    pub state_changed_at: DateTime<Utc>,
    pub password: PasswordStatus,
    pub creation_source: CreationSource,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every write; the SCIM ETag and the guard against lost updates.
    pub version: i64,
}

impl User {
    /// A user with only the required fields filled, created now by `source` in `state`.
    pub fn new(
        username: UserName,
        email: Email,
        state: LifecycleState,
        source: StateSource,
        creation_source: CreationSource,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: UserId::generate(),
            username,
            email,
            email_type: DEFAULT_EMAIL_TYPE.into(),
            email_primary: true,
            alternate_email: None,
            alternate_email_type: DEFAULT_ALTERNATE_EMAIL_TYPE.into(),
            formatted_name: None,
            first_name: None,
            middle_name: None,
            last_name: None,
            display_name: None,
            employee_identifier: None,
            job_title: None,
            department: None,
            company: None,
            cost_center: None,
            division: None,
            unix_uid: None,
            unix_guid: None,
            location: None,
            employee_type: None,
            manager: None,
            phone_numbers: Vec::new(),
            addresses: Vec::new(),
            samba_service_user: false,
            external_id: None,
            state,
            state_source: source,
            state_changed_at: now,
            password: PasswordStatus::unset(),
            creation_source,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_differing_in_case_fold_to_the_same_key() {
        let a = UserName::parse("Alice.Smith").expect("valid");
        let b = UserName::parse("alice.smith").expect("valid");
        assert_ne!(a, b, "the given spelling is kept");
        assert_eq!(a.folded(), b.folded());
    }

    #[test]
    fn empty_padded_or_control_usernames_are_refused() {
        for bad in ["", " alice", "alice ", "al\nice"] {
            assert!(UserName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UserName::parse(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn emails_are_lower_cased() {
        let email = Email::parse("email", "Alice.Smith@Example.COM").expect("valid");
        assert_eq!(email.as_str(), "alice.smith@example.com");
    }

    #[test]
    fn malformed_emails_name_the_field() {
        for bad in ["alice", "@example.com", "alice@", "al ice@example.com"] {
            let error = Email::parse("alternateEmail", bad).expect_err(bad);
            assert_eq!(error.field, "alternateEmail");
        }
    }

    #[test]
    fn password_status_is_independent_of_state() {
        let user = User::new(
            UserName::parse("bob").expect("valid"),
            Email::parse("email", "bob@example.com").expect("valid"),
            LifecycleState::Activated,
            StateSource::Admin,
            "admin".into(),
            Utc::now(),
        );
        assert!(!user.password.is_set());
        let mut with_password = user.clone();
        with_password.password.hash = Some("$argon2id$v=19$secret-hash".into());
        assert!(!format!("{with_password:?}").contains("secret-hash"));
        assert_eq!(user.version, 1);
    }
}
