//! The workflow-command and file-command writers.
//! * `escape_data`/`escape_property` never leave a raw CR or LF (which would start a
//!   new command line), and the runner's unescaping gives back exactly the input;
//! * a whole `::error title=…::…` line stays one line and parses back to its title
//!   and message;
//! * every entry `render_file_commands` renders for `GITHUB_ENV`/`GITHUB_OUTPUT`
//!   parses back, with the runner's reading of those files, to exactly the names and
//!   values given, so no value can end its entry early or add one of its own; names
//!   the runner would misread are refused.
#![no_main]

use arbitrary::Arbitrary;
use keyless_aws::secret::Secret;
use keyless_aws::text::{escape_data, escape_property};
use keyless_aws::workflow::{is_env_name, render_file_commands};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Case {
    data: String,
    property: String,
    entries: Vec<(String, String)>,
    /// Use names that are valid, so the render-and-parse check runs most of the time.
    valid_names: bool,
    outputs: bool,
}

/// The runner's reading of command data: `%0D`, `%0A`, then `%25`.
fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

/// The runner's reading of a property value: also `%3A` and `%2C`.
fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// `::error title=T::M` → (T, M), reading it the way the runner does: the command
/// ends at the first `::` after the name; properties are split at `,` and `=`.
fn parse_command(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("::")?;
    let end = rest.find("::")?;
    let (head, data) = (&rest[..end], &rest[end + 2..]);
    let (name, props) = head.split_once(' ')?;
    if name != "error" {
        return None;
    }
    let mut title = None;
    for prop in props.split(',') {
        let (k, v) = prop.split_once('=')?;
        if k == "title" {
            title = Some(unescape_property(v));
        }
    }
    Some((title?, unescape_data(data)))
}

/// Reads a `GITHUB_ENV`-style file as the runner does: `NAME=VALUE` lines, or
/// `NAME<<DELIMITER`, value lines, and a line that is exactly the delimiter.
fn parse_file_commands(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut lines = text.split('\n').peekable();
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.is_empty() && lines.peek().is_none() {
            break; // the final newline
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.push((line[..e].to_owned(), line[e + 1..].to_owned()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("bad heredoc line {line:?}"));
                }
                let mut value: Vec<&str> = Vec::new();
                loop {
                    match lines.next() {
                        Some(l) if l == delimiter => break,
                        Some(l) => value.push(l),
                        None => return Err(format!("delimiter {delimiter:?} never closes")),
                    }
                }
                out.push((name.to_owned(), value.join("\n")));
            }
            _ => return Err(format!("line without = or <<: {line:?}")),
        }
    }
    Ok(out)
}

fn is_output_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fuzz_target!(|case: Case| {
    let data = escape_data(&case.data);
    assert!(
        !data.contains('\n') && !data.contains('\r'),
        "raw CR/LF in {data:?}"
    );
    assert_eq!(unescape_data(&data), case.data);
    let prop = escape_property(&case.property);
    assert!(
        !prop.contains(['\n', '\r', ':', ',']),
        "separator left in {prop:?}"
    );
    assert_eq!(unescape_property(&prop), case.property);

    let line = format!("::error title={prop}::{data}");
    assert_eq!(line.lines().count(), 1);
    assert_eq!(
        parse_command(&line),
        Some((case.property.clone(), case.data.clone()))
    );

    let valid: fn(&str) -> bool = if case.outputs {
        is_output_name
    } else {
        is_env_name
    };
    let entries: Vec<(String, Secret)> = case
        .entries
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            let name = if case.valid_names {
                let cleaned: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                format!("N{i}{cleaned}")
            } else {
                name.clone()
            };
            (name, Secret::new(value.clone()))
        })
        .collect();
    match render_file_commands(&entries, valid) {
        Ok(text) => {
            assert!(entries.iter().all(|(n, _)| valid(n)));
            let parsed = parse_file_commands(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            let given: Vec<(String, String)> = entries
                .iter()
                .map(|(n, v)| (n.clone(), v.expose().to_owned()))
                .collect();
            assert_eq!(parsed, given, "rendered {text:?}");
        }
        Err(_) => assert!(
            entries.iter().any(|(n, _)| !valid(n)),
            "valid entries refused"
        ),
    }
});
