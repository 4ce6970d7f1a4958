//! Why a use case was refused or failed.

use crate::domain::lifecycle::LifecycleError;
use crate::domain::schedule::ScheduleError;
use crate::domain::user::InvalidField;
use crate::domain::{ScheduleId, UserId};
use crate::store::{StoreError, UniqueField};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A lifecycle rule refuses the change (invalid transition, Samba service account).
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    InvalidField(#[from] InvalidField),
    #[error("no user has id {0}")]
    UserNotFound(UserId),
    /// A schedule request breaks one of the scheduling rules.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("no scheduled state change has id {0}")]
    ScheduleNotFound(ScheduleId),
    #[error("this {} is already taken", .0.api_name())]
    Duplicate(UniqueField),
    /// Someone else changed the record between our read and our write; retrying may succeed.
    #[error("the user was changed by another request at the same time; try again")]
    Conflict,
    /// The account's state forbids what was asked (a suspended user setting a password).
    #[error("{0}")]
    NotAllowed(String),
    /// The database failed or is unreachable.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate(field) => Self::Duplicate(field),
            StoreError::VersionMismatch | StoreError::Gone => Self::Conflict,
            other => Self::Store(other),
        }
    }
}
