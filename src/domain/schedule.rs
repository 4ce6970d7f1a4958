//! Scheduled state changes: the rules a request must meet, when a schedule really runs, and
//! which pending change of a user comes next. Pure: "now" is always passed in.

use std::collections::HashMap;

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};

use super::user::{Email, InvalidField};
use super::{LifecycleState, ScheduleId, UserId};

/// How far ahead of now a schedule must be asked for.
pub const MIN_LEAD: Duration = Duration::hours(1);

/// Suspensions run on boundaries of this many minutes (10:30, 10:40, ...), in UTC.
pub const SUSPENSION_INTERVAL_MINUTES: i64 = 10;

/// Most users one request may schedule: every input is bounded.
pub const MAX_USERS_PER_REQUEST: usize = 1000;

/// A request to change the state of some users later, as an admin asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRequest {
    pub user_ids: Vec<UserId>,
    pub target: LifecycleState,
    /// The instant as the caller wrote it; must be RFC 3339 with an explicit UTC offset.
    pub start_date: String,
    /// `None` when the caller did not say; defaults to sending for activations.
    pub send_activation_emails: Option<bool>,
    /// Where the activation email goes instead of the user's own addresses.
    pub activation_email_override: Option<String>,
}

/// A request that meets every rule: what will be stored, one schedule per user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulePlan {
    /// Distinct ids, in the order given.
    pub user_ids: Vec<UserId>,
    pub target: LifecycleState,
    /// The instant asked for, in UTC.
    pub requested_at: DateTime<Utc>,
    /// When the change really runs: see [`effective_run_at`].
    pub run_at: DateTime<Utc>,
    pub send_activation_email: bool,
    pub activation_email_override: Option<Email>,
}

/// A stored, pending state change of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: ScheduleId,
    pub user_id: UserId,
    pub target: LifecycleState,
    pub requested_at: DateTime<Utc>,
    pub run_at: DateTime<Utc>,
    pub send_activation_email: bool,
    pub activation_email_override: Option<String>,
    /// Who asked for it, as `kind` or `kind:name` (`admin:ops-script`).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Why a schedule request is refused. Each message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("user_ids: at least one user id is required")]
    NoUsers,
    #[error("user_ids: at most {max} users can be scheduled in one request, got {count}")]
    TooManyUsers { count: usize, max: usize },
    #[error("user_ids: no user has id {0}")]
    UnknownUser(UserId),
    #[error("state: only ACTIVATED or SUSPENDED can be scheduled, not {0}")]
    TargetNotSchedulable(LifecycleState),
    #[error(
        "start_date: {0:?} has no UTC offset; give the time in RFC 3339 with an explicit offset, \
         such as 2030-01-01T09:00:00Z or 2030-01-01T10:00:00+01:00"
    )]
    MissingOffset(String),
    #[error(
        "start_date: {0:?} is not an RFC 3339 date-time such as 2030-01-01T09:00:00Z or \
         2030-01-01T10:00:00+01:00"
    )]
    InvalidDate(String),
    #[error("start_date: {requested} is in the past; the time must be at least one hour ahead")]
    InThePast { requested: DateTime<Utc> },
    #[error(
        "start_date: {requested} is less than one hour ahead; the time must be at least one hour \
         in the future (at or after {earliest})"
    )]
    TooSoon {
        requested: DateTime<Utc>,
        earliest: DateTime<Utc>,
    },
    #[error("send_activation_emails can only be used with scheduled activations (state ACTIVATED)")]
    EmailsWithSuspension,
    #[error(
        "activation_email_override can only be used with scheduled activations (state ACTIVATED)"
    )]
    OverrideWithSuspension,
    #[error("activation_email_override can only be used with a single user id, got {0}")]
    OverrideWithSeveralUsers(usize),
    #[error(transparent)]
    InvalidOverride(InvalidField),
    #[error(
        "user_ids: user {0} is the Samba service account, which cannot be suspended: \
         domain-joined devices rely on it to authenticate against the directory"
    )]
    SambaServiceAccount(UserId),
}

/// Parses `start_date`: RFC 3339 with an explicit offset. A date-time without offset is refused
/// rather than guessed, since the caller's zone is unknown.
pub fn parse_start_date(text: &str) -> Result<DateTime<Utc>, ScheduleError> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    let local_formats = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ];
    if local_formats
        .iter()
        .any(|format| NaiveDateTime::parse_from_str(text, format).is_ok())
    {
        return Err(ScheduleError::MissingOffset(text.to_owned()));
    }
    Err(ScheduleError::InvalidDate(text.to_owned()))
}

/// When a change asked for `requested` really runs: suspensions at the next 10-minute boundary
/// (UTC) at or after it (10:35 runs at 10:40, 10:40 at 10:40), never earlier; activations at the
/// minute asked for (seconds dropped).
pub fn effective_run_at(target: LifecycleState, requested: DateTime<Utc>) -> DateTime<Utc> {
    let step = match target {
        LifecycleState::Suspended => Duration::minutes(SUSPENSION_INTERVAL_MINUTES),
        _ => Duration::minutes(1),
    };
    let floor = requested
        .duration_trunc(step)
        .expect("a minute-based step never overflows a representable date");
    if target == LifecycleState::Suspended && floor < requested {
        floor + step
    } else {
        floor
    }
}

/// Checks every rule of a schedule request against `now` and computes when it runs. Whether the
/// users exist is for the caller to check (it needs the store).
pub fn plan(request: ScheduleRequest, now: DateTime<Utc>) -> Result<SchedulePlan, ScheduleError> {
    let mut user_ids = Vec::with_capacity(request.user_ids.len());
    for id in request.user_ids {
        if !user_ids.contains(&id) {
            user_ids.push(id);
        }
    }
    if user_ids.is_empty() {
        return Err(ScheduleError::NoUsers);
    }
    if user_ids.len() > MAX_USERS_PER_REQUEST {
        return Err(ScheduleError::TooManyUsers {
            count: user_ids.len(),
            max: MAX_USERS_PER_REQUEST,
        });
    }
    let activation = match request.target {
        LifecycleState::Activated => true,
        LifecycleState::Suspended => false,
        other => return Err(ScheduleError::TargetNotSchedulable(other)),
    };
    let requested_at = parse_start_date(&request.start_date)?;
    if requested_at <= now {
        return Err(ScheduleError::InThePast {
            requested: requested_at,
        });
    }
    let earliest = now + MIN_LEAD;
    if requested_at < earliest {
        return Err(ScheduleError::TooSoon {
            requested: requested_at,
            earliest,
        });
    }
    if !activation && request.send_activation_emails.is_some() {
        return Err(ScheduleError::EmailsWithSuspension);
    }
    let override_address = match request.activation_email_override {
        None => None,
        Some(_) if !activation => return Err(ScheduleError::OverrideWithSuspension),
        Some(_) if user_ids.len() > 1 => {
            return Err(ScheduleError::OverrideWithSeveralUsers(user_ids.len()));
        }
        Some(text) => Some(
            Email::parse("activation_email_override", &text)
                .map_err(ScheduleError::InvalidOverride)?,
        ),
    };
    // Like JumpCloud's activate call, an activation sends mail unless told not to; an explicit
    // `false` also drops the override, which then has nowhere to go.
    let send_activation_email = activation && request.send_activation_emails.unwrap_or(true);
    Ok(SchedulePlan {
        user_ids,
        target: request.target,
        requested_at,
        run_at: effective_run_at(request.target, requested_at),
        send_activation_email,
        activation_email_override: override_address.filter(|_| send_activation_email),
    })
}

/// The next pending change of each kind per user: at most one activation and one suspension
/// per user, the earliest of each, ordered by run time.
pub fn next_events(schedules: &[Schedule]) -> Vec<&Schedule> {
    let mut next: HashMap<(UserId, LifecycleState), &Schedule> = HashMap::new();
    for schedule in schedules {
        next.entry((schedule.user_id, schedule.target))
            .and_modify(|current| {
                if (schedule.run_at, schedule.id) < (current.run_at, current.id) {
                    *current = schedule;
                }
            })
            .or_insert(schedule);
    }
    let mut events: Vec<&Schedule> = next.into_values().collect();
    events.sort_by_key(|s| (s.run_at, s.user_id, s.id));
    events
}

#[cfg(test)]
mod tests {
    use super::LifecycleState::*;
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        at("2030-06-01T08:00:00Z")
    }

    fn request(target: LifecycleState, start_date: &str) -> ScheduleRequest {
        ScheduleRequest {
            user_ids: vec![UserId::generate()],
            target,
            start_date: start_date.to_owned(),
            send_activation_emails: None,
            activation_email_override: None,
        }
    }

    #[test]
    fn a_suspension_off_the_boundary_runs_at_the_next_ten_minutes() {
        assert_eq!(
            effective_run_at(Suspended, at("2030-06-01T10:35:00Z")),
            at("2030-06-01T10:40:00Z")
        );
        assert_eq!(
            effective_run_at(Suspended, at("2030-06-01T10:31:00Z")),
            at("2030-06-01T10:40:00Z")
        );
        assert_eq!(
            effective_run_at(Suspended, at("2030-06-01T10:40:00.001Z")),
            at("2030-06-01T10:50:00Z"),
            "never earlier than asked, even by a millisecond"
        );
        assert_eq!(
            effective_run_at(Suspended, at("2030-06-01T23:55:00Z")),
            at("2030-06-02T00:00:00Z")
        );
    }

    #[test]
    fn a_suspension_on_the_boundary_runs_then() {
        assert_eq!(
            effective_run_at(Suspended, at("2030-06-01T10:40:00Z")),
            at("2030-06-01T10:40:00Z")
        );
    }

    #[test]
    fn an_activation_runs_at_the_minute_asked_for() {
        assert_eq!(
            effective_run_at(Activated, at("2030-06-01T10:35:00Z")),
            at("2030-06-01T10:35:00Z")
        );
        assert_eq!(
            effective_run_at(Activated, at("2030-06-01T10:35:42Z")),
            at("2030-06-01T10:35:00Z")
        );
    }

    #[test]
    fn the_offset_is_applied_and_the_plan_is_in_utc() {
        let plan = plan(request(Suspended, "2030-06-01T12:35:00+02:00"), now()).expect("valid");
        assert_eq!(plan.requested_at, at("2030-06-01T10:35:00Z"));
        assert_eq!(plan.run_at, at("2030-06-01T10:40:00Z"));
    }

    #[test]
    fn a_time_without_offset_is_refused_naming_the_rule() {
        for text in [
            "2030-06-01T12:00:00",
            "2030-06-01T12:00:00.000",
            "2030-06-01T12:00",
        ] {
            let error = plan(request(Suspended, text), now()).expect_err(text);
            assert_eq!(error, ScheduleError::MissingOffset(text.to_owned()));
            assert!(error.to_string().contains("offset"), "{error}");
        }
    }

    #[test]
    fn text_that_is_no_date_is_refused() {
        let error = plan(request(Suspended, "next tuesday"), now()).expect_err("garbage");
        assert!(matches!(error, ScheduleError::InvalidDate(_)));
        assert!(error.to_string().contains("RFC 3339"), "{error}");
    }

    #[test]
    fn a_time_in_the_past_is_refused() {
        let error = plan(request(Activated, "2030-06-01T07:59:59Z"), now()).expect_err("past");
        assert!(matches!(error, ScheduleError::InThePast { .. }));
        assert!(error.to_string().contains("in the past"), "{error}");
        let error = plan(request(Activated, "2030-06-01T08:00:00Z"), now()).expect_err("now");
        assert!(matches!(error, ScheduleError::InThePast { .. }));
    }

    #[test]
    fn less_than_one_hour_ahead_is_refused_and_exactly_one_hour_is_accepted() {
        let error =
            plan(request(Activated, "2030-06-01T08:59:59Z"), now()).expect_err("59 min ahead");
        assert!(matches!(error, ScheduleError::TooSoon { .. }));
        assert!(error.to_string().contains("at least one hour"), "{error}");
        let plan = plan(request(Activated, "2030-06-01T09:00:00Z"), now()).expect("one hour");
        assert_eq!(plan.run_at, at("2030-06-01T09:00:00Z"));
    }

    #[test]
    fn only_activation_and_suspension_can_be_scheduled() {
        let error = plan(request(Staged, "2030-06-01T12:00:00Z"), now()).expect_err("staged");
        assert_eq!(error, ScheduleError::TargetNotSchedulable(Staged));
        assert!(error.to_string().contains("ACTIVATED or SUSPENDED"));
    }

    #[test]
    fn at_least_one_and_at_most_the_maximum_of_users() {
        let mut none = request(Suspended, "2030-06-01T12:00:00Z");
        none.user_ids.clear();
        assert_eq!(plan(none, now()), Err(ScheduleError::NoUsers));
        let mut many = request(Suspended, "2030-06-01T12:00:00Z");
        many.user_ids = (0..=MAX_USERS_PER_REQUEST)
            .map(|_| UserId::generate())
            .collect();
        assert!(matches!(
            plan(many, now()),
            Err(ScheduleError::TooManyUsers { .. })
        ));
    }

    #[test]
    fn repeated_user_ids_are_scheduled_once() {
        let id = UserId::generate();
        let mut repeated = request(Suspended, "2030-06-01T12:00:00Z");
        repeated.user_ids = vec![id, id];
        assert_eq!(plan(repeated, now()).expect("valid").user_ids, vec![id]);
    }

    #[test]
    fn activation_emails_only_with_activations() {
        for send in [true, false] {
            let mut suspension = request(Suspended, "2030-06-01T12:00:00Z");
            suspension.send_activation_emails = Some(send);
            assert_eq!(
                plan(suspension, now()),
                Err(ScheduleError::EmailsWithSuspension)
            );
        }
        let plan_of = |send| {
            let mut activation = request(Activated, "2030-06-01T12:00:00Z");
            activation.send_activation_emails = send;
            plan(activation, now())
                .expect("valid")
                .send_activation_email
        };
        assert!(plan_of(Some(true)));
        assert!(!plan_of(Some(false)));
        assert!(plan_of(None), "activations send mail unless told not to");
        let suspension = plan(request(Suspended, "2030-06-01T12:00:00Z"), now()).expect("valid");
        assert!(!suspension.send_activation_email);
    }

    #[test]
    fn an_override_needs_one_user_and_an_activation() {
        let mut suspension = request(Suspended, "2030-06-01T12:00:00Z");
        suspension.activation_email_override = Some("it@example.com".into());
        assert_eq!(
            plan(suspension, now()),
            Err(ScheduleError::OverrideWithSuspension)
        );
        let mut several = request(Activated, "2030-06-01T12:00:00Z");
        several.user_ids.push(UserId::generate());
        several.activation_email_override = Some("it@example.com".into());
        let error = plan(several, now()).expect_err("two users");
        assert_eq!(error, ScheduleError::OverrideWithSeveralUsers(2));
        assert!(error.to_string().contains("single user"), "{error}");

        let mut single = request(Activated, "2030-06-01T12:00:00Z");
        single.activation_email_override = Some("IT@Example.com".into());
        let address = plan(single, now())
            .expect("valid")
            .activation_email_override
            .expect("kept");
        assert_eq!(address.as_str(), "it@example.com");
    }

    #[test]
    fn an_override_is_dropped_when_emails_are_turned_off() {
        let mut quiet = request(Activated, "2030-06-01T12:00:00Z");
        quiet.send_activation_emails = Some(false);
        quiet.activation_email_override = Some("it@example.com".into());
        let plan = plan(quiet, now()).expect("accepted, override ignored");
        assert_eq!(plan.activation_email_override, None);
    }

    #[test]
    fn an_override_that_is_no_address_is_refused() {
        let mut bad = request(Activated, "2030-06-01T12:00:00Z");
        bad.activation_email_override = Some("not an address".into());
        let error = plan(bad, now()).expect_err("bad address");
        assert!(matches!(error, ScheduleError::InvalidOverride(_)));
        assert!(error.to_string().starts_with("activation_email_override"));
    }

    fn pending(user_id: UserId, target: LifecycleState, run_at: &str) -> Schedule {
        Schedule {
            id: ScheduleId::generate(),
            user_id,
            target,
            requested_at: at(run_at),
            run_at: at(run_at),
            send_activation_email: false,
            activation_email_override: None,
            created_by: "admin:tests".into(),
            created_at: now(),
        }
    }

    #[test]
    fn next_events_keep_the_earliest_of_each_kind_per_user() {
        let (ann, bob) = (UserId::generate(), UserId::generate());
        let schedules = vec![
            pending(ann, Suspended, "2030-06-03T10:00:00Z"),
            pending(ann, Suspended, "2030-06-02T10:00:00Z"),
            pending(ann, Activated, "2030-06-04T10:00:00Z"),
            pending(bob, Suspended, "2030-06-05T10:00:00Z"),
            pending(bob, Suspended, "2030-06-01T10:00:00Z"),
        ];
        let next = next_events(&schedules);
        let summary: Vec<(UserId, LifecycleState, DateTime<Utc>)> = next
            .iter()
            .map(|s| (s.user_id, s.target, s.run_at))
            .collect();
        assert_eq!(
            summary,
            vec![
                (bob, Suspended, at("2030-06-01T10:00:00Z")),
                (ann, Suspended, at("2030-06-02T10:00:00Z")),
                (ann, Activated, at("2030-06-04T10:00:00Z")),
            ]
        );
    }
}
