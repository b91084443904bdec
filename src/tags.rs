//! Session tags for `AssumeRole`: who assumed the role, from which repository
//! and commit. They appear in CloudTrail and can be matched in policies
//! (`aws:PrincipalTag/Repository`). They require `sts:TagSession` in the role's
//! trust policy. `AssumeRoleWithWebIdentity` never carries them.

use crate::error::Error;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub key: String,
    pub value: String,
    /// Optional tags are dropped first when STS says the packed tags are too large.
    pub optional: bool,
}

/// The most tags STS accepts on one session.
pub const MAX_TAGS: usize = 50;

const REQUIRED: &[(&str, &str)] = &[
    ("Repository", "GITHUB_REPOSITORY"),
    ("Workflow", "GITHUB_WORKFLOW"),
    ("Action", "GITHUB_ACTION"),
    ("Actor", "GITHUB_ACTOR"),
    ("Commit", "GITHUB_SHA"),
    ("Branch", "GITHUB_REF"),
];

const OPTIONAL: &[(&str, &str)] = &[
    ("EventName", "GITHUB_EVENT_NAME"),
    ("BaseRef", "GITHUB_BASE_REF"),
    ("HeadRef", "GITHUB_HEAD_REF"),
    ("RunId", "GITHUB_RUN_ID"),
    ("Job", "GITHUB_JOB"),
    ("TriggeringActor", "GITHUB_TRIGGERING_ACTOR"),
];

/// What a tag key or value may hold: Unicode letters, numbers and separators
/// (every space separator, not only U+0020) and `_.:/=+-@`, as the reference
/// action's `[\p{L}\p{Z}\p{N}_.:/=+\-@]` (src/helpers.ts sanitizeGitHubVariables(),
/// src/assumeRole.ts TAG_VALUE_REGEX).
fn allowed_char(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    let kept = matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
            | G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
    );
    kept || "_.:/=+-@".contains(c)
}

/// How long a tag value may be, counted as the reference counts it: UTF-16 units.
const MAX_VALUE_UNITS: usize = 256;

/// Replaces what STS rejects in a tag value with `_` and cuts it to 256 UTF-16
/// units, as the reference does (src/helpers.ts sanitizeGitHubVariables():
/// replace, then `slice(0, 256)`). A character that would be cut in half is
/// left out whole.
pub fn sanitize_value(value: &str) -> String {
    let mut units = 0;
    value
        .chars()
        .map(|c| if allowed_char(c) { c } else { '_' })
        .take_while(|c| {
            units += c.len_utf16();
            units <= MAX_VALUE_UNITS
        })
        .collect()
}

/// A JSON scalar as JavaScript's `String(value)` writes it, which is what the
/// reference sends for `custom-tags` values that are numbers or booleans
/// (src/assumeRole.ts parseAndValidateCustomTags(): `String(value)`). `None`
/// for what it refuses: objects, arrays and `null`.
fn js_string(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(js_number(n.as_f64()?)),
        _ => None,
    }
}

/// `Number.prototype.toString()`: the shortest digits that read back as the
/// same double, in plain notation for 1e-6 <= |x| < 1e21, else as `1e+21`.
fn js_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let abs = x.abs();
    if (1e-6..1e21).contains(&abs) {
        // Rust's Display is also the shortest round-trip form, never exponential.
        return format!("{x}");
    }
    let e = format!("{x:e}");
    match e.split_once('e') {
        Some((m, exp)) if !exp.starts_with('-') => format!("{m}e+{exp}"),
        _ => e,
    }
}

fn builtin_keys() -> impl Iterator<Item = &'static str> {
    std::iter::once("GitHub").chain(REQUIRED.iter().chain(OPTIONAL).map(|(k, _)| *k))
}

/// The built-in tags from the `GITHUB_*` variables, followed by `custom`.
pub fn session_tags(env: &HashMap<String, String>, custom: Vec<Tag>) -> Result<Vec<Tag>, Error> {
    let mut tags = vec![Tag {
        key: "GitHub".into(),
        value: "Actions".into(),
        optional: false,
    }];
    for (list, optional) in [(REQUIRED, false), (OPTIONAL, true)] {
        for (key, var) in list {
            if let Some(value) = env.get(*var).filter(|v| !v.is_empty()) {
                tags.push(Tag {
                    key: (*key).into(),
                    value: sanitize_value(value),
                    optional,
                });
            }
        }
    }
    tags.extend(custom);
    if tags.len() > MAX_TAGS {
        return Err(Error::Input {
            input: "custom-tags",
            problem: format!(
                "{} tags in all with the built-in ones; STS accepts at most {MAX_TAGS}",
                tags.len()
            ),
            fix: "Remove some custom tags.".into(),
        });
    }
    Ok(tags)
}

/// Drops the optional tags; used once when STS answers that the packed tags are too large.
pub fn without_optional(tags: &[Tag]) -> Vec<Tag> {
    tags.iter().filter(|t| !t.optional).cloned().collect()
}

/// Parses `custom-tags`: a JSON object of string values, validated like STS does.
pub fn parse_custom_tags(text: &str) -> Result<Vec<Tag>, Error> {
    let fail = |problem: String| {
        Error::Input {
        input: "custom-tags",
        problem,
        fix: "Pass a JSON object of strings, e.g. `custom-tags: '{\"Team\": \"platform\"}'` (keys 1–128 and values up to 256 of letters, digits, spaces and _.:/=+-@).".into(),
    }
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| fail(format!("is not valid JSON ({e})")))?;
    let object = value
        .as_object()
        .ok_or_else(|| fail("is not a JSON object".into()))?;
    if object.len() > MAX_TAGS {
        return Err(fail(format!(
            "has {} tags; at most {MAX_TAGS}",
            object.len()
        )));
    }
    let mut tags = Vec::new();
    for (key, value) in object {
        let shown: String = key.chars().take(40).collect();
        if key.is_empty() || key.encode_utf16().count() > 128 || !key.chars().all(allowed_char) {
            return Err(fail(format!(
                "key {shown:?} must be 1–128 letters, digits, spaces or _.:/=+-@"
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(fail(format!(
                "key {shown:?} uses the reserved `aws:` prefix"
            )));
        }
        if builtin_keys().any(|b| b.eq_ignore_ascii_case(key)) {
            return Err(fail(format!(
                "key {shown:?} clashes with a built-in session tag"
            )));
        }
        let Some(value) = js_string(value) else {
            return Err(fail(format!(
                "the value of {shown:?} is an object, array or null (a string, number or boolean is sent as text)"
            )));
        };
        if value.encode_utf16().count() > MAX_VALUE_UNITS || !value.chars().all(allowed_char) {
            return Err(fail(format!(
                "the value of {shown:?} must be at most 256 letters, digits, spaces or _.:/=+-@"
            )));
        }
        tags.push(Tag {
            key: key.clone(),
            value,
            optional: false,
        });
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_sanitized_and_cut() {
        assert_eq!(sanitize_value("refs/heads/feat#1!"), "refs/heads/feat_1_");
        assert_eq!(sanitize_value(&"a".repeat(300)).len(), 256);
    }

    #[test]
    fn kept_characters_are_the_references_classes() {
        // Letters and numbers of any script, every space separator, kept.
        for kept in [
            "Ünïcödé",
            "東京",
            "٣",
            "a\u{00A0}b",
            "a\u{2003}b",
            "x\u{2028}y",
            "Ⅻ",
        ] {
            assert_eq!(sanitize_value(kept), kept, "{kept:?}");
        }
        // Alphabetic to std but not letters: a Devanagari vowel sign, a circled letter.
        assert_eq!(sanitize_value("\u{093E}\u{24B6}"), "__");
        assert_eq!(sanitize_value("feat/x#1 ✓"), "feat/x_1 _");
        // 256 UTF-16 units: an astral letter counts twice and is never split.
        let astral = "𝐀".repeat(200);
        assert_eq!(sanitize_value(&astral).chars().count(), 128);
        assert_eq!(
            sanitize_value(&format!("a{astral}")).encode_utf16().count(),
            255
        );
    }

    #[test]
    fn custom_tag_scalars_are_sent_as_javascript_writes_them() {
        let tags = parse_custom_tags(
            r#"{"a":1,"b":1.0,"c":-0.5,"d":true,"e":false,"f":1e21,"g":12345678901234567890,"h":1e-7,"i":0}"#,
        )
        .unwrap();
        let values: Vec<&str> = tags.iter().map(|t| t.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "1",
                "1",
                "-0.5",
                "true",
                "false",
                "1e+21",
                "12345678901234567000",
                "1e-7",
                "0"
            ]
        );
    }

    #[test]
    fn builtin_and_optional_tags() {
        let env: HashMap<String, String> = [
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_RUN_ID", "42"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let tags = session_tags(&env, vec![]).unwrap();
        let keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["GitHub", "Repository", "Commit", "RunId"]);
        assert_eq!(without_optional(&tags).len(), 3);
    }

    #[test]
    fn custom_tags_are_strict() {
        assert_eq!(
            parse_custom_tags(r#"{"Team":"platform"}"#).unwrap()[0].value,
            "platform"
        );
        for bad in [
            r#"[]"#,
            r#"{"Repository":"x"}"#,
            r#"{"aws:x":"y"}"#,
            r#"{"k":{}}"#,
            r#"{"k":[1]}"#,
            r#"{"k":null}"#,
            r#"{"k":"v;"}"#,
            r#"{"":"v"}"#,
            "{",
        ] {
            assert!(parse_custom_tags(bad).is_err(), "{bad}");
        }
    }
}
