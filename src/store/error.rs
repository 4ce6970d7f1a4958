//! What can go wrong in the store. "The row is not there" is never an error here (reads return
//! `Option`); "the database cannot be reached" is always `Unavailable`, never a missing row.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A uniquely indexed user field that already holds the value being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    UserName,
    EmployeeIdentifier,
    IntegrationName,
    ApiKeyName,
    GroupName,
    ResourceName,
}

impl UniqueField {
    pub fn api_name(self) -> &'static str {
        match self {
            Self::UserName => "username",
            Self::EmployeeIdentifier => "employeeIdentifier",
            Self::IntegrationName => "integration name",
            Self::ApiKeyName => "API key name",
            Self::GroupName => "group name",
            Self::ResourceName => "resource name",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database did not answer: connection refused, pool exhausted, connection lost.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("another record already has this {}", .0.api_name())]
    Duplicate(UniqueField),
    /// The row changed since it was read (optimistic concurrency).
    #[error("the record was changed by someone else since it was read")]
    VersionMismatch,
    /// The row to change is not there (it was deleted since it was read).
    #[error("the record to change no longer exists")]
    Gone,
    /// A write names a row that does not exist (for example a group member that is no user).
    #[error("a referenced record does not exist: {0}")]
    UnknownReference(String),
    /// A change to a user was about to be written without an audit event.
    #[error("a change to a user must carry at least one audit event")]
    Unaudited,
    /// A stored value that the code cannot read back: a bug or a hand-edited database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Query(DieselError),
}

impl StoreError {
    pub fn unavailable(error: impl std::fmt::Display) -> Self {
        Self::Unavailable(error.to_string())
    }

    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // PostgreSQL names the constraint; SQLite only names the columns in its message.
                let text = format!(
                    "{} {}",
                    info.constraint_name().unwrap_or_default(),
                    info.message()
                );
                if text.contains("username_folded") {
                    Self::Duplicate(UniqueField::UserName)
                } else if text.contains("employee_identifier") {
                    Self::Duplicate(UniqueField::EmployeeIdentifier)
                } else if text.contains("display_name_folded") {
                    Self::Duplicate(UniqueField::GroupName)
                } else if text.contains("resources") {
                    Self::Duplicate(UniqueField::ResourceName)
                } else if text.contains("api_keys") {
                    Self::Duplicate(UniqueField::ApiKeyName)
                } else if text.contains("integrations") {
                    Self::Duplicate(UniqueField::IntegrationName)
                } else {
                    Self::Query(error)
                }
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                Self::UnknownReference(info.message().to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(info.message().to_owned()),
            DieselError::BrokenTransactionManager => {
                Self::Unavailable("the connection was left in a broken transaction".into())
            }
            _ => Self::Query(error),
        }
    }
}
