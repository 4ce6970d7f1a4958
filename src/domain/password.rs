//! The password complexity policy: what a new password must contain, and a refusal that lists
//! everything it lacks, so an admin fixes it in one try.

use serde::{Deserialize, Serialize};

use super::user::InvalidField;

/// The longest password accepted: Argon2 takes any length, but a bound keeps hashing cheap
/// enough that a request cannot tie up the server.
pub const MAX_PASSWORD_LEN: usize = 256;

/// What every new password must satisfy. Configured under `[password_policy]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values).
    pub min_length: usize,
    pub require_lowercase: bool,
    pub require_uppercase: bool,
    pub require_digit: bool,
    /// A character that is neither a letter nor a digit.
    pub require_symbol: bool,
}

impl Default for PasswordPolicy {
    /// Twelve characters with lower case, upper case and a digit.
    fn default() -> Self {
        Self {
            min_length: 12,
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_symbol: false,
        }
    }
}

impl PasswordPolicy {
    /// Accepts `password` or names every rule it breaks.
    pub fn check(&self, password: &str) -> Result<(), InvalidField> {
        let length = password.chars().count();
        let mut missing = Vec::new();
        if length < self.min_length {
            missing.push(format!("at least {} characters", self.min_length));
        }
        if length > MAX_PASSWORD_LEN {
            missing.push(format!("at most {MAX_PASSWORD_LEN} characters"));
        }
        let has = |test: fn(char) -> bool| password.chars().any(test);
        if self.require_lowercase && !has(char::is_lowercase) {
            missing.push("a lower-case letter".into());
        }
        if self.require_uppercase && !has(char::is_uppercase) {
            missing.push("an upper-case letter".into());
        }
        if self.require_digit && !has(|c| c.is_ascii_digit()) {
            missing.push("a digit".into());
        }
        if self.require_symbol && !has(|c| !c.is_alphanumeric()) {
            missing.push("a symbol (neither letter nor digit)".into());
        }
        if password.chars().any(char::is_control) {
            missing.push("no control characters".into());
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(InvalidField::new(
                "password",
                format!(
                    "does not meet the password policy; it needs {}",
                    missing.join(", ")
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_meeting_every_rule_is_accepted() {
        assert_eq!(PasswordPolicy::default().check("Correct-horse-9"), Ok(()));
    }

    #[test]
    fn the_refusal_lists_everything_missing() {
        let error = PasswordPolicy::default()
            .check("short")
            .expect_err("too weak");
        assert_eq!(error.field, "password");
        for rule in ["at least 12 characters", "an upper-case letter", "a digit"] {
            assert!(error.reason.contains(rule), "{error}");
        }
        assert!(!error.reason.contains("lower-case"), "{error}");
    }

    #[test]
    fn symbols_are_required_only_when_configured() {
        let policy = PasswordPolicy {
            require_symbol: true,
            ..PasswordPolicy::default()
        };
        assert!(policy.check("Abcdefghijk1").is_err());
        assert!(policy.check("Abcdefghij-1").is_ok());
        assert!(PasswordPolicy::default().check("Abcdefghijk1").is_ok());
    }

    #[test]
    fn overlong_passwords_are_refused() {
        let long = format!("Aa1{}", "x".repeat(MAX_PASSWORD_LEN));
        assert!(PasswordPolicy::default().check(&long).is_err());
    }
}
