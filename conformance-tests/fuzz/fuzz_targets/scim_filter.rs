//! Any bytes as a SCIM filter: parsing (with Roster's rewrite and limits) must return a
//! filter or an invalidFilter error, never panic; a parsed filter must print and parse again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::scim::ScimLimits;
use roster::scim::filter::parse_filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = ScimLimits::default();
    match parse_filter(text, &limits) {
        Ok(filter) => {
            let printed = filter.to_string();
            let again = parse_filter(&printed, &ScimLimits { max_filter_len: usize::MAX, ..limits })
                .unwrap_or_else(|error| panic!("{printed:?} does not parse again: {error}"));
            assert_eq!(again, filter, "round trip of {printed:?}");
        }
        Err(error) => assert_eq!(error.scim_type, Some("invalidFilter")),
    }
});
