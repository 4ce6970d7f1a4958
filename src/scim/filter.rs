//! Filter and PATCH path parsing, through the `scim_v2` crate's parser, with Roster's limits,
//! one rewrite for a form Entra ID sends that RFC 7644's grammar lacks, and shortcuts for the
//! commonest filter and PATCH paths.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, PatchPath, ValFilter};

use super::{ScimError, ScimLimits};

/// Parses a `filter` parameter. Too long or too deeply nested filters are refused with the
/// limit in the detail; a syntax error names what the parser expected.
pub fn parse_filter(text: &str, limits: &ScimLimits) -> Result<Filter, ScimError> {
    let length = text.chars().count();
    if length > limits.max_filter_len {
        return Err(ScimError::invalid_filter(format!(
            "the filter is {length} characters long; shorten it to at most {} characters",
            limits.max_filter_len
        )));
    }
    if let Some(filter) = plain_equality(text) {
        return Ok(filter);
    }
    let rewritten = move_sub_attribute_into_brackets(text);
    let filter: Filter = rewritten.parse().map_err(|error| {
        ScimError::invalid_filter(format!("the filter {text:?} does not parse: {error}"))
    })?;
    let depth = filter_depth(&filter);
    if depth > limits.max_filter_depth {
        return Err(ScimError::invalid_filter(format!(
            "the filter nests {depth} levels deep; use at most {} levels of parentheses, not and \
             value paths",
            limits.max_filter_depth
        )));
    }
    Ok(filter)
}

/// `attribute eq "value"` with one space on each side of `eq`, a plain attribute name and a
/// string without escapes, built without the general parser.
///
/// Identity providers look a user or group up this way before nearly every write they make, so
/// this one shape is most of the filters a server sees; the parser's lexer costs more than the
/// database lookup behind it. Anything else, even the same filter spelled with other spacing,
/// goes to the parser, and a property test checks that both give the same filter.
fn plain_equality(text: &str) -> Option<Filter> {
    let (name, quoted) = text.split_once(" eq ")?;
    let plain_name = is_plain_name(name);
    let value = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let plain_value = value
        .chars()
        .all(|c| c != '"' && c != '\\' && !c.is_control());
    (plain_name && plain_value).then(|| {
        Filter::Attr(AttrExp::Comparison(
            AttrPath::with_name(name),
            CompareOp::Eq,
            CompValue::Str(value.to_owned()),
        ))
    })
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(text: &str, limits: &ScimLimits) -> Result<PatchPath, ScimError> {
    if text.chars().count() > limits.max_filter_len {
        return Err(ScimError::invalid_path(format!(
            "the path is longer than {} characters",
            limits.max_filter_len
        )));
    }
    if let Some(path) = plain_attribute_path(text) {
        return Ok(path);
    }
    text.trim().parse().map_err(|error| {
        ScimError::invalid_path(format!("the path {text:?} does not parse: {error}"))
    })
}

/// `attribute` or `attribute.subAttribute` with plain names, the paths of nearly every PATCH,
/// built without the general parser for the reason [`plain_equality`] gives. A property test
/// checks that both give the same path.
fn plain_attribute_path(text: &str) -> Option<PatchPath> {
    let (name, sub_attribute) = match text.split_once('.') {
        Some((name, sub_attribute)) => (name, Some(sub_attribute)),
        None => (text, None),
    };
    (is_plain_name(name) && sub_attribute.is_none_or(is_plain_name)).then(|| {
        PatchPath::Attr(AttrPath {
            uri: None,
            name: name.to_owned(),
            sub_attr: sub_attribute.map(str::to_owned),
        })
    })
}

/// RFC 7644's ATTRNAME: a letter, then letters, digits, `_` and `-`.
fn is_plain_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn filter_depth(filter: &Filter) -> usize {
    match filter {
        Filter::Attr(_) => 1,
        Filter::Not(inner) => 1 + filter_depth(inner),
        Filter::And(items) | Filter::Or(items) => {
            1 + items.iter().map(filter_depth).max().unwrap_or(0)
        }
        Filter::ValuePath(path) => 1 + val_filter_depth(&path.filter),
    }
}

fn val_filter_depth(filter: &ValFilter) -> usize {
    match filter {
        ValFilter::Attr(_) => 1,
        ValFilter::Not(inner) => 1 + val_filter_depth(inner),
        ValFilter::And(items) | ValFilter::Or(items) => {
            1 + items.iter().map(val_filter_depth).max().unwrap_or(0)
        }
    }
}

/// Entra ID filters on `emails[type eq "work"].value eq "x"`, which RFC 7644's filter grammar
/// does not have (a value path takes no sub-attribute there). This rewrites it to the
/// equivalent `emails[(type eq "work") and value eq "x"]`; text inside string literals is
/// left alone, and anything else passes through unchanged for the parser to judge.
pub fn move_sub_attribute_into_brackets(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut open_at: Option<usize> = None; // index in `out` just after the last `[`
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
                i += 1;
            }
            '[' => {
                out.push(c);
                open_at = Some(out.len());
                i += 1;
            }
            ']' if chars.get(i + 1) == Some(&'.') && open_at.is_some() => {
                let Some(end) = comparison_end(&chars, i + 2) else {
                    out.push(c);
                    i += 1;
                    continue;
                };
                let start = open_at.take().unwrap_or(out.len());
                let inner: String = out[start..].to_owned();
                out.truncate(start);
                let comparison: String = chars[i + 2..end].iter().collect();
                out.push('(');
                out.push_str(&inner);
                out.push_str(") and ");
                out.push_str(comparison.trim_end());
                out.push(']');
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Where `subAttr op value` (or `subAttr pr`) starting at `from` ends.
fn comparison_end(chars: &[char], from: usize) -> Option<usize> {
    let mut i = from;
    let word = |i: &mut usize| {
        let start = *i;
        while *i < chars.len()
            && (chars[*i].is_alphanumeric() || matches!(chars[*i], '_' | '-' | '$' | '.' | ':'))
        {
            *i += 1;
        }
        (start < *i).then(|| chars[start..*i].iter().collect::<String>())
    };
    let spaces = |i: &mut usize| {
        while *i < chars.len() && chars[*i] == ' ' {
            *i += 1;
        }
    };
    word(&mut i)?;
    spaces(&mut i);
    let op = word(&mut i)?.to_ascii_lowercase();
    if op == "pr" {
        return Some(i);
    }
    if !matches!(
        op.as_str(),
        "eq" | "ne" | "co" | "sw" | "ew" | "gt" | "ge" | "lt" | "le"
    ) {
        return None;
    }
    spaces(&mut i);
    if chars.get(i) == Some(&'"') {
        i += 1;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 2,
                '"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    } else {
        word(&mut i)?;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn entra_sub_attribute_after_brackets_is_moved_inside() {
        assert_eq!(
            move_sub_attribute_into_brackets(r#"emails[type eq "work"].value eq "a]b.c""#),
            r#"emails[(type eq "work") and value eq "a]b.c"]"#
        );
        assert_eq!(
            move_sub_attribute_into_brackets(r#"userName eq "x[y].z eq 1""#),
            r#"userName eq "x[y].z eq 1""#
        );
        let limits = ScimLimits::default();
        assert!(
            parse_filter(
                r#"emails[type eq "work"].value eq "a@b.c" and userName pr"#,
                &limits
            )
            .is_ok()
        );
    }

    #[test]
    fn the_lookup_identity_providers_send_takes_the_shortcut() {
        for text in [
            r#"userName eq "bjensen@example.com""#,
            r#"externalId eq "00u1ab2CD3ef4GH5ij6k""#,
            r#"displayName eq "Säljare Nord""#,
        ] {
            let shortcut = plain_equality(text).expect(text);
            assert_eq!(Some(shortcut), text.parse::<Filter>().ok(), "{text}");
        }
        for text in [
            r#"userName eq "a\"b""#,
            r#"name.givenName eq "Barbara""#,
            r#"userName Eq "x""#,
            r#"userName eq "x" or userName eq "y""#,
        ] {
            assert_eq!(plain_equality(text), None, "{text}");
        }
    }

    #[test]
    fn plain_patch_paths_take_the_shortcut() {
        for text in ["active", "name.givenName", "phoneNumbers", "x-y_z.a1"] {
            let shortcut = plain_attribute_path(text).expect(text);
            assert_eq!(Some(shortcut), text.parse::<PatchPath>().ok(), "{text}");
        }
        for text in [
            r#"emails[type eq "work"].value"#,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "name.",
            "a.b.c",
            " active",
        ] {
            assert_eq!(plain_attribute_path(text), None, "{text}");
        }
    }

    #[test]
    fn limits_are_named_in_the_refusal() {
        let limits = ScimLimits {
            max_filter_len: 20,
            max_filter_depth: 3,
            ..ScimLimits::default()
        };
        let long = parse_filter(&format!("userName eq \"{}\"", "a".repeat(30)), &limits)
            .expect_err("long");
        assert!(long.detail.contains("at most 20"), "{}", long.detail);
        let deep = parse_filter(
            "not (not (not (a pr)))",
            &ScimLimits {
                max_filter_depth: 3,
                ..ScimLimits::default()
            },
        )
        .expect_err("deep");
        assert_eq!(deep.scim_type, Some("invalidFilter"));
        assert!(deep.detail.contains("at most 3 levels"), "{}", deep.detail);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

        /// The shortcut for `name eq "value"` gives what the parser gives, or leaves the text
        /// to it.
        #[test]
        fn plain_equalities_match_the_parser(
            name in "[A-Za-z][A-Za-z0-9_-]{0,12}|[a-z.:$]{1,6}|[0-9 ][a-z]{0,3}",
            operator in prop_oneof![Just(" eq "), Just(" EQ "), Just("  eq "), Just(" ne ")],
            value in "\\PC{0,20}|[\"\\\\ ]{0,4}|\\p{Cc}",
            quote_end in prop_oneof![Just("\""), Just(""), Just("\" "), Just("\"\"")],
        ) {
            let text = format!("{name}{operator}\"{value}{quote_end}");
            let parsed: Option<Filter> = move_sub_attribute_into_brackets(&text).parse().ok();
            if let Some(shortcut) = plain_equality(&text) {
                prop_assert_eq!(Some(shortcut), parsed);
            }
        }

        /// Any text gives a filter or an invalidFilter error, never a panic.
        #[test]
        fn filter_parsing_never_panics(text in "\\PC{0,200}") {
            let limits = ScimLimits::default();
            if let Err(error) = parse_filter(&text, &limits) {
                prop_assert_eq!(error.scim_type, Some("invalidFilter"));
            }
        }

        /// Filter-like text built from the grammar's pieces, to reach deeper into the parser.
        #[test]
        fn grammar_shaped_filters_never_panic(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("userName"), Just("emails"), Just("["), Just("]"), Just("("), Just(")"),
                    Just(" eq "), Just(" and "), Just(" or "), Just("not "), Just(" pr"),
                    Just("\"x\""), Just("true"), Just("."), Just("value"), Just("urn:a:b:"),
                    Just("\\"), Just("\""),
                ],
                0..30,
            )
        ) {
            let text: String = parts.concat();
            let _ = parse_filter(&text, &ScimLimits::default());
            let _ = parse_patch_path(&text, &ScimLimits::default());
        }

        /// The shortcut for plain PATCH paths gives what the parser gives, or leaves the text
        /// to it.
        #[test]
        fn plain_paths_match_the_parser(
            text in "[A-Za-z][A-Za-z0-9_-]{0,10}(\\.[A-Za-z0-9_$-]{0,8}){0,2}|[A-Za-z0-9 ._:\\[\\]-]{0,16}",
        ) {
            let parsed: Option<PatchPath> = text.trim().parse().ok();
            if let Some(shortcut) = plain_attribute_path(&text) {
                prop_assert_eq!(Some(shortcut), parsed);
            }
        }

        /// Any text gives a PATCH path or an invalidPath error, never a panic.
        #[test]
        fn patch_path_parsing_never_panics(text in "\\PC{0,200}") {
            if let Err(error) = parse_patch_path(&text, &ScimLimits::default()) {
                prop_assert_eq!(error.scim_type, Some("invalidPath"));
            }
        }
    }
}
