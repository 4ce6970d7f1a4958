//! Retry delays: exponential backoff with full jitter, so that many jobs failing together do not
//! come back together.

use std::time::Duration;

/// The first retry waits up to this long.
const BASE: Duration = Duration::from_secs(1);
/// No retry waits longer than this.
const CAP: Duration = Duration::from_secs(300);

/// A delay drawn uniformly from `[0, min(CAP, BASE · 2^attempts)]`, with `random` as the draw.
pub fn full_jitter(attempts: i32, random: u64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let ceiling = BASE.saturating_mul(2u32.saturating_pow(exponent)).min(CAP);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(random % (millis + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        assert_eq!(
            full_jitter(0, u64::MAX),
            Duration::from_millis(u64::MAX % 1001)
        );
        assert_eq!(full_jitter(0, 1000), Duration::from_millis(1000));
        assert_eq!(full_jitter(3, 8000), Duration::from_millis(8000));
        assert_eq!(full_jitter(3, 8001), Duration::ZERO);
        assert_eq!(full_jitter(30, 300_000), CAP);
        assert!(full_jitter(30, u64::MAX) <= CAP);
    }

    #[test]
    fn draws_spread_over_the_whole_range() {
        assert_eq!(full_jitter(5, 0), Duration::ZERO);
        assert_eq!(full_jitter(5, 16_000), Duration::from_secs(16));
    }
}
