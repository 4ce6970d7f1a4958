//! User groups: named sets of users, bound to resources so that their members get access.

use std::fmt;

use chrono::{DateTime, Utc};

use super::GroupId;
use super::user::{InvalidField, MAX_FIELD_LEN};

/// A group's display name. Unique across groups regardless of case; kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(text: &str) -> Result<Self, InvalidField> {
        let invalid = |reason: &str| InvalidField::new("displayName", reason);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if trimmed.len() > MAX_FIELD_LEN {
            return Err(invalid("must be at most 1024 bytes"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user group. Members are stored and read separately, since groups can be large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub display_name: GroupName,
    pub description: Option<String>,
    /// The identifier the identity provider that owns this group knows it by.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change, members included; the SCIM ETag.
    pub version: i64,
}

impl Group {
    pub fn new(display_name: GroupName, now: DateTime<Utc>) -> Self {
        Self {
            id: GroupId::generate(),
            display_name,
            description: None,
            external_id: None,
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
    fn names_are_trimmed_and_fold_case() {
        let name = GroupName::parse("  Engineering ").expect("valid");
        assert_eq!(name.as_str(), "Engineering");
        assert_eq!(name.folded(), "engineering");
        assert!(GroupName::parse("   ").is_err());
        assert!(GroupName::parse("a\u{0}b").is_err());
    }
}
