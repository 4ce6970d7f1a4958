//! Typed identifiers, so that a user id can never be passed where a schedule id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id (UUID v7), so ids sort roughly by creation time.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Hyphenated lower-case form: the one stored in the database and shown in APIs.
                self.0.as_hyphenated().fmt(f)
            }
        }
    };
}

typed_id!(
    /// Identifies a user of the directory.
    UserId
);
typed_id!(
    /// Identifies a user group.
    GroupId
);
typed_id!(
    /// Identifies a provisioning target or another resource users are bound to.
    ResourceId
);
typed_id!(
    /// Identifies a scheduled state change.
    ScheduleId
);
typed_id!(
    /// Identifies an inbound integration (an identity provider pushing users over SCIM).
    IntegrationId
);
typed_id!(
    /// Identifies one bulk user-create job.
    BulkJobId
);
typed_id!(
    /// Identifies one event of the audit trail.
    AuditEventId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = UserId::generate();
        let parsed: UserId = id.to_string().parse().expect("own text form parses");
        assert_eq!(parsed, id);
    }

    #[test]
    fn text_that_is_not_a_uuid_is_refused() {
        assert!("not-an-id".parse::<UserId>().is_err());
    }
}
