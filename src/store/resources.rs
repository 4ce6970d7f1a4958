//! Configured resources, the bindings of users and groups to them, and the accounts Roster
//! wrote into them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::one_of::one_of;
use super::schema::{provisioned_accounts, resource_bindings, resources, user_group_members};
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError};
use crate::domain::provisioning::ResourceType;
use crate::domain::resource::{Connection, Pause, Resource, Secret};
use crate::domain::{GroupId, ResourceId, UserId};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = resources)]
struct ResourceRow {
    id: String,
    name: String,
    name_folded: String,
    kind: String,
    url: Option<String>,
    bind_dn: Option<String>,
    secret: Option<String>,
    base_dn: Option<String>,
    options: String,
    paused_reason: Option<String>,
    paused_at: Option<chrono::NaiveDateTime>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl ResourceRow {
    fn from_resource(resource: &Resource) -> Self {
        let connection = resource.connection.as_ref();
        Self {
            id: resource.id.to_string(),
            name: resource.name.clone(),
            name_folded: resource.name.to_lowercase(),
            kind: resource.kind.as_str().to_owned(),
            url: connection.map(|c| c.url.clone()),
            bind_dn: connection.and_then(|c| c.bind_dn.clone()),
            // Stored as given: the API never returns a secret and nothing logs it. Encrypting
            // it at rest would need a key kept outside the database, in the configuration.
            secret: connection.and_then(|c| c.secret.as_ref().map(|s| s.expose().to_owned())),
            base_dn: connection.and_then(|c| c.base_dn.clone()),
            options: resource.options.to_string(),
            paused_reason: resource.paused.as_ref().map(|p| p.reason.clone()),
            paused_at: resource.paused.as_ref().map(|p| to_db(p.since)),
            created_at: to_db(resource.created_at),
            updated_at: to_db(resource.updated_at),
        }
    }

    fn into_resource(self) -> Result<Resource, StoreError> {
        let corrupt = |what: &str| StoreError::corrupt(format!("resource {}: bad {what}", self.id));
        let connection = self.url.clone().map(|url| Connection {
            url,
            bind_dn: self.bind_dn.clone(),
            secret: self.secret.clone().map(Secret::new),
            base_dn: self.base_dn.clone(),
        });
        let paused = match (&self.paused_reason, self.paused_at) {
            (Some(reason), Some(since)) => Some(Pause {
                reason: reason.clone(),
                since: from_db(since),
            }),
            _ => None,
        };
        Ok(Resource {
            id: self.id.parse().map_err(|_| corrupt("id"))?,
            name: self.name.clone(),
            kind: self.kind.parse().map_err(|_| corrupt("kind"))?,
            connection,
            options: serde_json::from_str(&self.options).map_err(|_| corrupt("options"))?,
            paused,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

pub fn insert(conn: &mut DbConnection, resource: &Resource) -> Result<(), StoreError> {
    diesel::insert_into(resources::table)
        .values(ResourceRow::from_resource(resource))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: ResourceId) -> Result<Option<Resource>, StoreError> {
    resources::table
        .find(id.to_string())
        .select(ResourceRow::as_select())
        .first(conn)
        .optional()?
        .map(ResourceRow::into_resource)
        .transpose()
}

/// Whether any configured resource is of a type Roster writes accounts into: without one, no
/// change can have provisioning work.
pub fn any_with_connector(conn: &mut DbConnection) -> Result<bool, StoreError> {
    // A handful of rows at most: the types are compared here rather than in SQL.
    let kinds: Vec<String> = resources::table
        .select(resources::kind)
        .distinct()
        .load(conn)?;
    Ok(kinds.iter().any(|kind| {
        kind.parse::<ResourceType>()
            .is_ok_and(ResourceType::has_connector)
    }))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Resource>, StoreError> {
    resources::table
        .order(resources::id.asc())
        .select(ResourceRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ResourceRow::into_resource)
        .collect()
}

/// Deletes a resource with its bindings and account records; false when there was none.
pub fn delete(conn: &mut DbConnection, id: ResourceId) -> Result<bool, StoreError> {
    let id = id.to_string();
    diesel::delete(resource_bindings::table.filter(resource_bindings::resource_id.eq(&id)))
        .execute(conn)?;
    diesel::delete(provisioned_accounts::table.filter(provisioned_accounts::resource_id.eq(&id)))
        .execute(conn)?;
    Ok(diesel::delete(resources::table.find(&id)).execute(conn)? > 0)
}

/// Holds a target's jobs back (`Some`) or lets them run again (`None`).
pub fn set_pause(
    conn: &mut DbConnection,
    id: ResourceId,
    pause: Option<&Pause>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(resources::table.find(id.to_string()))
        .set((
            resources::paused_reason.eq(pause.map(|p| p.reason.clone())),
            resources::paused_at.eq(pause.map(|p| to_db(p.since))),
            resources::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Who a binding gives the resource to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    User(UserId),
    Group(GroupId),
}

impl Member {
    fn kind(self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Group(_) => "user_group",
        }
    }

    fn id(self) -> String {
        match self {
            Self::User(id) => id.to_string(),
            Self::Group(id) => id.to_string(),
        }
    }
}

/// Binds `member` to the resource; binding twice is harmless. Returns whether it is new.
pub fn bind(
    conn: &mut DbConnection,
    resource: ResourceId,
    member: Member,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let exists = resource_bindings::table
        .find((resource.to_string(), member.kind(), member.id()))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(resource_bindings::table)
        .values((
            resource_bindings::resource_id.eq(resource.to_string()),
            resource_bindings::member_kind.eq(member.kind()),
            resource_bindings::member_id.eq(member.id()),
            resource_bindings::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Removes a binding; returns whether there was one.
pub fn unbind(
    conn: &mut DbConnection,
    resource: ResourceId,
    member: Member,
) -> Result<bool, StoreError> {
    let removed = diesel::delete(resource_bindings::table.find((
        resource.to_string(),
        member.kind(),
        member.id(),
    )))
    .execute(conn)?;
    Ok(removed > 0)
}

/// Removes every direct binding of a user (when the user is deleted).
pub fn unbind_user_everywhere(conn: &mut DbConnection, user: UserId) -> Result<(), StoreError> {
    diesel::delete(
        resource_bindings::table
            .filter(resource_bindings::member_kind.eq("user"))
            .filter(resource_bindings::member_id.eq(user.to_string())),
    )
    .execute(conn)?;
    Ok(())
}

/// Removes every binding of a group (when the group is deleted).
pub fn unbind_group_everywhere(conn: &mut DbConnection, group: GroupId) -> Result<(), StoreError> {
    diesel::delete(
        resource_bindings::table
            .filter(resource_bindings::member_kind.eq("user_group"))
            .filter(resource_bindings::member_id.eq(group.to_string())),
    )
    .execute(conn)?;
    Ok(())
}

/// The members bound to a resource, users first.
pub fn bindings(conn: &mut DbConnection, resource: ResourceId) -> Result<Vec<Member>, StoreError> {
    let rows: Vec<(String, String)> = resource_bindings::table
        .filter(resource_bindings::resource_id.eq(resource.to_string()))
        .order((
            resource_bindings::member_kind.desc(),
            resource_bindings::member_id.asc(),
        ))
        .select((resource_bindings::member_kind, resource_bindings::member_id))
        .load(conn)?;
    rows.into_iter()
        .map(|(kind, id)| {
            let corrupt = || StoreError::corrupt(format!("binding member {kind} {id}"));
            match kind.as_str() {
                "user" => id.parse().map(Member::User).map_err(|_| corrupt()),
                _ => id.parse().map(Member::Group).map_err(|_| corrupt()),
            }
        })
        .collect()
}

fn parse_resource_ids(ids: Vec<String>) -> Result<Vec<ResourceId>, StoreError> {
    ids.iter()
        .map(|id| {
            id.parse()
                .map_err(|_| StoreError::corrupt(format!("resource id {id}")))
        })
        .collect()
}

/// The resources bound to a user, directly or through any of the user's groups.
pub fn resources_of_user(
    conn: &mut DbConnection,
    user: UserId,
) -> Result<Vec<ResourceId>, StoreError> {
    let groups = user_group_members::table
        .filter(user_group_members::user_id.eq(user.to_string()))
        .select(user_group_members::group_id);
    let mut ids: Vec<String> = resource_bindings::table
        .filter(
            (resource_bindings::member_kind
                .eq("user")
                .and(resource_bindings::member_id.eq(user.to_string())))
            .or(resource_bindings::member_kind
                .eq("user_group")
                .and(resource_bindings::member_id.eq_any(groups))),
        )
        .select(resource_bindings::resource_id)
        .load(conn)?;
    ids.sort();
    ids.dedup();
    parse_resource_ids(ids)
}

/// For several users at once, each (user, resource) pair where the resource is bound to the
/// user directly or through a group (as [`resources_of_user`] finds), or holds an account
/// Roster wrote for the user; in at most four queries for all of them.
pub fn targets_of_users(
    conn: &mut DbConnection,
    users: &[UserId],
) -> Result<Vec<(UserId, ResourceId)>, StoreError> {
    let ids: Vec<String> = users.iter().map(UserId::to_string).collect();
    let mut pairs: Vec<(String, String)> = resource_bindings::table
        .filter(resource_bindings::member_kind.eq("user"))
        .filter(one_of!(
            resource_bindings::table,
            resource_bindings::member_id,
            &ids
        ))
        .select((resource_bindings::member_id, resource_bindings::resource_id))
        .load(conn)?;
    let memberships: Vec<(String, String)> = user_group_members::table
        .filter(one_of!(
            user_group_members::table,
            user_group_members::user_id,
            &ids
        ))
        .select((user_group_members::user_id, user_group_members::group_id))
        .load(conn)?;
    if !memberships.is_empty() {
        let mut groups: Vec<String> = memberships.iter().map(|(_, group)| group.clone()).collect();
        groups.sort();
        groups.dedup();
        let group_bindings: Vec<(String, String)> = resource_bindings::table
            .filter(resource_bindings::member_kind.eq("user_group"))
            .filter(one_of!(
                resource_bindings::table,
                resource_bindings::member_id,
                &groups
            ))
            .select((resource_bindings::member_id, resource_bindings::resource_id))
            .load(conn)?;
        for (user, group) in &memberships {
            pairs.extend(
                group_bindings
                    .iter()
                    .filter(|(bound, _)| bound == group)
                    .map(|(_, resource)| (user.clone(), resource.clone())),
            );
        }
    }
    pairs.extend(
        provisioned_accounts::table
            .filter(one_of!(
                provisioned_accounts::table,
                provisioned_accounts::user_id,
                &ids
            ))
            .select((
                provisioned_accounts::user_id,
                provisioned_accounts::resource_id,
            ))
            .load::<(String, String)>(conn)?,
    );
    pairs.sort();
    pairs.dedup();
    pairs
        .into_iter()
        .map(|(user, resource)| {
            let user = user
                .parse()
                .map_err(|_| StoreError::corrupt(format!("user id {user}")))?;
            let resource = resource
                .parse()
                .map_err(|_| StoreError::corrupt(format!("resource id {resource}")))?;
            Ok((user, resource))
        })
        .collect()
}

/// Whether `user` is bound to `resource`, directly or through a group.
pub fn is_bound(
    conn: &mut DbConnection,
    resource: ResourceId,
    user: UserId,
) -> Result<bool, StoreError> {
    Ok(resources_of_user(conn, user)?.contains(&resource))
}

/// The account Roster last wrote for a user in a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedAccount {
    /// The target's name for it: an LDAP DN.
    pub remote_id: String,
    pub disabled: bool,
}

pub fn account(
    conn: &mut DbConnection,
    resource: ResourceId,
    user: UserId,
) -> Result<Option<ProvisionedAccount>, StoreError> {
    let row: Option<(String, bool)> = provisioned_accounts::table
        .find((resource.to_string(), user.to_string()))
        .select((
            provisioned_accounts::remote_id,
            provisioned_accounts::disabled,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(remote_id, disabled)| ProvisionedAccount {
        remote_id,
        disabled,
    }))
}

/// Records (`Some`) or forgets (`None`) the account written for a user in a target.
pub fn set_account(
    conn: &mut DbConnection,
    resource: ResourceId,
    user: UserId,
    account: Option<&ProvisionedAccount>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let key = (resource.to_string(), user.to_string());
    diesel::delete(provisioned_accounts::table.find(key.clone())).execute(conn)?;
    if let Some(account) = account {
        diesel::insert_into(provisioned_accounts::table)
            .values((
                provisioned_accounts::resource_id.eq(key.0),
                provisioned_accounts::user_id.eq(key.1),
                provisioned_accounts::remote_id.eq(&account.remote_id),
                provisioned_accounts::disabled.eq(account.disabled),
                provisioned_accounts::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The latest scheduled state change of a user that fell due after the user's last state
/// change, if any: a schedule the scheduler has not applied yet, which access checks count.
pub fn due_schedule(
    conn: &mut DbConnection,
    user: UserId,
    state_changed_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<(String, String, DateTime<Utc>)>, StoreError> {
    use super::schema::schedules;
    let row: Option<(String, String, chrono::NaiveDateTime)> = schedules::table
        .filter(schedules::user_id.eq(user.to_string()))
        .filter(schedules::run_at.le(to_db(now)))
        .filter(schedules::run_at.gt(to_db(state_changed_at)))
        .order(schedules::run_at.desc())
        .select((schedules::id, schedules::target_state, schedules::run_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, target, run_at)| (id, target, from_db(run_at))))
}
