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

fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// Replaces what STS rejects in a tag value with `_` and cuts it to 256 characters.
pub fn sanitize_value(value: &str) -> String {
    value
        .chars()
        .map(|c| if allowed_char(c) { c } else { '_' })
        .take(256)
        .collect()
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
        if key.is_empty() || key.chars().count() > 128 || !key.chars().all(allowed_char) {
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
        let Some(value) = value.as_str() else {
            return Err(fail(format!("the value of {shown:?} is not a string")));
        };
        if value.chars().count() > 256 || !value.chars().all(allowed_char) {
            return Err(fail(format!(
                "the value of {shown:?} must be at most 256 letters, digits, spaces or _.:/=+-@"
            )));
        }
        tags.push(Tag {
            key: key.clone(),
            value: value.to_owned(),
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
            r#"{"k":1}"#,
            r#"{"k":"v;"}"#,
            r#"{"":"v"}"#,
            "{",
        ] {
            assert!(parse_custom_tags(bad).is_err(), "{bad}");
        }
    }
}
