//! Times cross into the database as UTC without zone. PostgreSQL keeps microseconds, so every
//! time is cut to microseconds on the way in: a value read back equals the value written.

use chrono::{DateTime, NaiveDateTime, Utc};

pub fn to_db(time: DateTime<Utc>) -> NaiveDateTime {
    truncate_to_micros(time).naive_utc()
}

pub fn from_db(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

pub fn truncate_to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = time.timestamp_subsec_nanos();
    time - chrono::Duration::nanoseconds(i64::from(nanos % 1_000))
}
