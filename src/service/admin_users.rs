//! The admin API's user writes, each one transaction: create with an optional password, update
//! (profile, password and state together, or nothing), delete with a manager cascade, and bulk
//! delete that refuses a miscounted request.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::ServiceError;
use super::passwords::{PasswordHash, apply_password, password_set_event, set_password};
use super::users::{
    Actor, ManagerCascade, NewUser, change_state, create_user, delete_user, update_user,
};
use crate::domain::lifecycle::{LifecycleError, Trigger};
use crate::domain::user::InvalidField;
use crate::domain::{Address, Email, LifecycleState, PhoneNumber, User, UserId, UserName};
use crate::store::{DbConnection, audit, users, write_transaction};

/// The most users one bulk delete may name.
pub const MAX_BULK_DELETE: usize = 1000;

/// A free-text profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    FirstName,
    MiddleName,
    LastName,
    DisplayName,
    EmployeeIdentifier,
    JobTitle,
    Department,
    Company,
    CostCenter,
    Location,
    EmployeeType,
}

/// One change to a profile field, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldEdit {
    Username(UserName),
    Email(Email),
    AlternateEmail(Option<Email>),
    Text(TextField, Option<String>),
    Manager(Option<UserId>),
    PhoneNumbers(Vec<PhoneNumber>),
    Addresses(Vec<Address>),
    SambaServiceUser(bool),
    PasswordExpired(bool),
}

impl FieldEdit {
    pub fn apply(&self, user: &mut User) {
        match self.clone() {
            Self::Username(name) => user.username = name,
            Self::Email(email) => user.email = email,
            Self::AlternateEmail(email) => user.alternate_email = email,
            Self::Text(field, value) => *text_field(user, field) = value,
            Self::Manager(manager) => user.manager = manager,
            Self::PhoneNumbers(numbers) => user.phone_numbers = numbers,
            Self::Addresses(addresses) => user.addresses = addresses,
            Self::SambaServiceUser(flag) => user.samba_service_user = flag,
            Self::PasswordExpired(flag) => user.password.expired = flag,
        }
    }
}

fn text_field(user: &mut User, field: TextField) -> &mut Option<String> {
    match field {
        TextField::FirstName => &mut user.first_name,
        TextField::MiddleName => &mut user.middle_name,
        TextField::LastName => &mut user.last_name,
        TextField::DisplayName => &mut user.display_name,
        TextField::EmployeeIdentifier => &mut user.employee_identifier,
        TextField::JobTitle => &mut user.job_title,
        TextField::Department => &mut user.department,
        TextField::Company => &mut user.company,
        TextField::CostCenter => &mut user.cost_center,
        TextField::Location => &mut user.location,
        TextField::EmployeeType => &mut user.employee_type,
    }
}

/// A new password with its `password_expired` choice.
#[derive(Debug, Clone)]
pub struct NewPassword {
    pub hash: PasswordHash,
    pub expired: bool,
}

/// Everything one `PUT /api/systemusers/{id}` asks for.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub edits: Vec<FieldEdit>,
    pub password: Option<NewPassword>,
    pub state: Option<LifecycleState>,
    /// `suspended: false` without a state: reactivate the user if suspended, else nothing.
    pub lift_suspension: bool,
}

/// A manager must be another user that exists.
fn check_manager(
    conn: &mut DbConnection,
    user: UserId,
    edits: &[FieldEdit],
) -> Result<(), ServiceError> {
    for edit in edits {
        if let FieldEdit::Manager(Some(manager)) = edit {
            if *manager == user {
                return Err(
                    InvalidField::new("manager", "a user cannot be their own manager").into(),
                );
            }
            if users::find(conn, *manager)?.is_none() {
                return Err(
                    InvalidField::new("manager", format!("no user has id {manager}")).into(),
                );
            }
        }
    }
    Ok(())
}

/// Creates a user through the admin API: the profile, then the password (recorded as
/// `user_password_set`), in one transaction.
pub fn create(
    conn: &mut DbConnection,
    new: NewUser,
    edits: &[FieldEdit],
    password: Option<NewPassword>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    write_transaction(conn, |conn| {
        let mut new = new;
        check_manager(conn, new.user.id, edits)?;
        for edit in edits {
            edit.apply(&mut new.user);
        }
        let with_password = password.is_some();
        if let Some(password) = password {
            apply_password(&mut new.user, password.hash, password.expired, now);
        }
        let user = create_user(conn, new, actor, now)?;
        if with_password {
            audit::append(conn, vec![password_set_event(actor, &user)], now)?;
        }
        Ok(user)
    })
}

/// Applies a `PUT`: profile edits, then the password, then the state, all or nothing.
/// `STAGED` is refused from every state, since no account returns to it.
pub fn update(
    conn: &mut DbConnection,
    id: UserId,
    update: UserUpdate,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    if let Some(LifecycleState::Staged) = update.state {
        return Err(InvalidField::new(
            "state",
            "must be ACTIVATED or SUSPENDED: a user cannot be put back into STAGED",
        )
        .into());
    }
    write_transaction(conn, |conn| {
        check_manager(conn, id, &update.edits)?;
        let mut user = update_user(conn, id, None, actor, now, |user| {
            update.edits.iter().for_each(|edit| edit.apply(user));
            Ok(())
        })?;
        if let Some(password) = update.password {
            user = set_password(conn, id, password.hash, password.expired, actor, now)?;
        }
        let lifted = (update.lift_suspension && user.state == LifecycleState::Suspended)
            .then_some(LifecycleState::Activated);
        if let Some(state) = update.state.or(lifted) {
            user = change_state(conn, id, state, Trigger::Request, actor, now)?.user;
        }
        // Flagging a suspended account as the Samba service account would leave that account
        // suspended, which it may never be.
        if user.samba_service_user && user.state == LifecycleState::Suspended {
            return Err(LifecycleError::SambaServiceAccount.into());
        }
        Ok(user)
    })
}

/// Deletes one user. `cascade` re-points their direct reports, which must be to another user
/// that exists; otherwise the request is refused and nothing is deleted.
pub fn delete(
    conn: &mut DbConnection,
    id: UserId,
    cascade: ManagerCascade,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    write_transaction(conn, |conn| {
        users::find(conn, id)?.ok_or(ServiceError::UserNotFound(id))?;
        if let ManagerCascade::Repoint(manager) = cascade {
            if manager == id {
                return Err(InvalidField::new(
                    "cascade_manager",
                    "names the user being deleted; give another user's id or null",
                )
                .into());
            }
            if users::find(conn, manager)?.is_none() {
                return Err(InvalidField::new(
                    "cascade_manager",
                    format!("no user has id {manager}; nothing was deleted"),
                )
                .into());
            }
        }
        delete_user(conn, id, cascade, actor, now)
    })
}

/// Deletes every user in `ids`, or none: the caller states how many users it means to delete,
/// and a count that differs, a repeated id or an unknown id refuses the whole request.
pub fn delete_many(
    conn: &mut DbConnection,
    ids: &[UserId],
    expected_count: usize,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<User>, ServiceError> {
    if ids.is_empty() || ids.len() > MAX_BULK_DELETE {
        return Err(InvalidField::new(
            "user_ids",
            format!("must name 1 to {MAX_BULK_DELETE} users"),
        )
        .into());
    }
    if ids.len() != expected_count {
        return Err(InvalidField::new(
            "expected_count",
            format!(
                "is {expected_count} but user_ids names {} users; nothing was deleted",
                ids.len()
            ),
        )
        .into());
    }
    let mut seen = HashSet::new();
    if let Some(repeated) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(InvalidField::new(
            "user_ids",
            format!("names {repeated} more than once; nothing was deleted"),
        )
        .into());
    }
    write_transaction(conn, |conn| {
        for id in ids {
            if users::find(conn, *id)?.is_none() {
                return Err(InvalidField::new(
                    "user_ids",
                    format!("no user has id {id}; nothing was deleted"),
                )
                .into());
            }
        }
        let mut deleted = Vec::with_capacity(ids.len());
        for id in ids {
            deleted.push(delete_user(conn, *id, ManagerCascade::Clear, actor, now)?);
        }
        tracing::info!(count = deleted.len(), "users deleted in bulk");
        Ok(deleted)
    })
}
