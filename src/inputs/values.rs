//! Value parsing shared by every input: "empty means not set", strict
//! booleans, bounded integers, http(s) URLs and lists. Each failure names the
//! input and the fix.

use crate::aws_names::shorten;
use crate::error::Error;
use crate::plan::Warning;

pub fn bad(input: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Error {
    Error::Input {
        input,
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Records an ignored or adjusted input (see [`Warning`]).
pub fn warn(warnings: &mut Vec<Warning>, input: &'static str, message: impl Into<String>) {
    warnings.push(Warning {
        input,
        message: message.into(),
    });
}

/// An input's value with "empty means not set" applied.
pub fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// Strict booleans: the YAML spellings GitHub documents, nothing else. A typo
/// must not silently turn a security option on or off.
pub fn parse_bool(
    input: &'static str,
    value: &Option<String>,
    default: bool,
) -> Result<bool, Error> {
    match set(value).map(str::trim) {
        None => Ok(default),
        Some("true" | "True" | "TRUE") => Ok(true),
        Some("false" | "False" | "FALSE") => Ok(false),
        Some(other) => Err(bad(
            input,
            format!("{:?} is not a boolean", shorten(other)),
            format!("Set `{input}` to `true` or `false`."),
        )),
    }
}

pub fn parse_int(input: &'static str, value: &str, min: i64, max: i64) -> Result<i64, Error> {
    let fix = format!("Set `{input}` to a whole number from {min} to {max}.");
    let n: i64 = value.trim().parse().map_err(|_| {
        bad(
            input,
            format!("{:?} is not a whole number", shorten(value)),
            &fix,
        )
    })?;
    if !(min..=max).contains(&n) {
        return Err(bad(input, format!("{n} is outside {min}–{max}"), fix));
    }
    Ok(n)
}

/// An http(s) URL, kept as parsed: the parser accepts lenient spellings
/// (`https:/host`, `HTTPS://HOST`) that other URL readers would take
/// differently, so only the parsed form is ever used.
pub fn parse_url(input: &'static str, value: &str) -> Result<url::Url, Error> {
    // A proxy URL may carry a password: errors show only what follows the last `@`.
    let shown = shorten(value.rsplit_once('@').map_or(value, |(_, host)| host));
    let fix = format!("Set `{input}` to a full URL such as https://host:port.");
    // The URL parser drops control characters (tabs and newlines anywhere, others at
    // the ends) that the text kept here would still carry: refuse them instead.
    if value.trim().chars().any(char::is_control) {
        return Err(bad(
            input,
            format!("{shown:?} contains control characters"),
            fix,
        ));
    }
    let url = url::Url::parse(value.trim())
        .map_err(|e| bad(input, format!("{shown:?} is not a URL ({e})"), &fix))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(input, format!("{shown:?} is not an http(s) URL"), fix));
    }
    Ok(url)
}

/// Items separated by any of `separators`, trimmed, empty ones dropped.
pub fn list<'a>(value: &'a str, separators: &'a [char]) -> impl Iterator<Item = &'a str> + 'a {
    value
        .split(separators)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_booleans() {
        assert!(!parse_bool("x", &Some("false".into()), true).unwrap());
        assert!(parse_bool("x", &Some("TRUE".into()), false).unwrap());
        assert!(parse_bool("x", &Some("".into()), true).unwrap());
        for bad in ["yes", "1", "on", "tru", "fAlse"] {
            assert!(parse_bool("x", &Some(bad.into()), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_http_and_free_of_control_characters() {
        assert_eq!(
            parse_url("x", " https://h:1/ ").unwrap().as_str(),
            "https://h:1/"
        );
        assert!(parse_url("x", "socks5://h:1").is_err());
        assert!(parse_url("x", "https://h\t:1").is_err());
        let err = parse_url("x", "ftp://user:pw@h").unwrap_err().to_string();
        assert!(!err.contains("pw"), "{err}");
    }
}
