//! The log and file scanner: where secrets may not appear (in any encoding a log or
//! file could carry them), and which lines the runner would read as workflow commands.

use base64::Engine;
use std::path::{Path, PathBuf};

/// Panics if any secret occurs in `text` (named `where_` in the message).
pub fn assert_no_secret(where_: &str, text: &str, secrets: &[(&str, &str)]) {
    for (name, value) in secrets {
        if value.len() >= 8 && text.contains(value) {
            panic!("the {name} leaked into {where_}:\n{text}");
        }
    }
}

/// Every file under `dir`, recursively (bounded), with its contents.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        assert!(out.len() < 10_000, "too many files under {}", dir.display());
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => {
                    let bytes = std::fs::read(&path).unwrap_or_default();
                    out.push((path, bytes));
                }
                _ => {}
            }
        }
    }
    out
}

/// The `::add-mask::` values in `stdout`, checking for each secret that the first line
/// that mentions it is its own add-mask line, and that no later line shows it.
pub fn assert_masked_before_use(stdout: &str, secrets: &[(&str, &str)]) {
    let lines: Vec<&str> = stdout.lines().collect();
    for (name, value) in secrets {
        let first = lines
            .iter()
            .position(|l| l.contains(value))
            .unwrap_or_else(|| {
                panic!("the {name} was never masked (no ::add-mask:: line):\n{stdout}")
            });
        assert_eq!(lines[first].trim_end(), format!("::add-mask::{value}"), "the first stdout line that shows the {name} must be its ::add-mask:: line, got:\n{stdout}");
        for later in &lines[first + 1..] {
            if later.contains(value) && later.trim_end() != format!("::add-mask::{value}") {
                panic!("the {name} appears in stdout outside its ::add-mask:: line:\n{stdout}");
            }
        }
    }
}

/// Lines of stdout other than `::add-mask::` lines.
pub fn without_mask_lines(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

/// Every form a secret could take in a log or file.
pub fn forms(value: &str) -> Vec<(&'static str, String)> {
    let bytes = value.as_bytes();
    let mut out = vec![
        ("raw", value.to_owned()),
        ("workflow-escaped", escape_data(value)),
        (
            "form-urlencoded",
            url::form_urlencoded::byte_serialize(bytes).collect(),
        ),
        (
            "percent-encoded",
            bytes
                .iter()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
                        (*b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect(),
        ),
        (
            "json-escaped",
            serde_json::to_string(value)
                .unwrap()
                .trim_matches('"')
                .to_owned(),
        ),
        ("hex", bytes.iter().map(|b| format!("{b:02x}")).collect()),
        ("HEX", bytes.iter().map(|b| format!("{b:02X}")).collect()),
    ];
    // Base64 of the value inside a longer text depends on where it starts: the part
    // fixed by the value alone, for each of the three alignments and both alphabets.
    for shift in 0..3 {
        let mut data = vec![0u8; shift];
        data.extend_from_slice(bytes);
        let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&data);
        let start = if shift == 0 { 0 } else { 4 };
        let end = (data.len() / 3) * 4;
        if end > start + 8 {
            let part = &enc[start..end];
            out.push(("base64", part.to_owned()));
            out.push(("base64url", part.replace('+', "-").replace('/', "_")));
        }
    }
    out.push((
        "base64 padded",
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ));
    let chars: Vec<char> = value.chars().collect();
    if chars.len() >= 32 {
        out.push(("first 24 characters", chars[..24].iter().collect()));
        out.push((
            "last 24 characters",
            chars[chars.len() - 24..].iter().collect(),
        ));
    }
    out.sort();
    out.dedup_by(|a, b| a.1 == b.1);
    out.retain(|(_, f)| f.len() >= 8);
    out
}

/// Lines as the runner splits output: at CR, LF or CRLF (.NET ReadLine).
pub fn runner_lines(text: &str) -> Vec<&str> {
    text.split(['\r', '\n']).collect()
}

/// The command a runner would read from a line (new `::cmd` form after leading
/// spaces, or the legacy `##[cmd` form anywhere), with its data.
pub fn command_in(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("::") {
        if let Some(end) = rest.find("::") {
            let info = &rest[..end];
            let name = info.split(' ').next().unwrap_or_default();
            return Some((name.to_ascii_lowercase(), rest[end + 2..].to_owned()));
        }
    }
    let start = line.find("##[")?;
    let rest = &line[start + 3..];
    let end = rest.find(']')?;
    let name = rest[..end].split(' ').next().unwrap_or_default();
    // The action never writes the legacy form: any of it came from outside.
    Some((
        format!("##[{}", name.to_ascii_lowercase()),
        rest[end + 1..].to_owned(),
    ))
}

/// Commands the action writes itself.
pub const OWN_COMMANDS: &[&str] = &[
    "add-mask", "error", "warning", "group", "endgroup", "debug", "notice",
];

/// Checks a stream line by line like the runner's command processor. `stop-commands`
/// is allowed on stdout (its token is then the only command honoured until it comes
/// back); on stderr, which the runner reads in parallel, no command at all is.
pub fn check_commands(stream: &str, text: &str, on_stdout: bool, problems: &mut Vec<String>) {
    let mut stopped: Option<String> = None;
    for line in runner_lines(text) {
        let Some((name, data)) = command_in(line) else {
            continue;
        };
        if let Some(token) = &stopped {
            if name.eq_ignore_ascii_case(token) {
                stopped = None;
            }
            continue;
        }
        if !on_stdout {
            problems.push(format!(
                "{stream}: a line the runner reads as the command `{name}`: {line:?}"
            ));
        } else if name == "stop-commands" && data.len() >= 16 && line.starts_with("::") {
            stopped = Some(data);
        } else if !OWN_COMMANDS.contains(&name.as_str()) {
            problems.push(format!(
                "{stream}: a line the runner reads as the command `{name}`: {line:?}"
            ));
        }
    }
    if stopped.is_some() {
        problems.push(format!("{stream}: stop-commands never resumed"));
    }
}

pub fn context(hay: &[u8], at: usize, len: usize) -> String {
    let from = at.saturating_sub(40);
    let to = (at + len + 40).min(hay.len());
    format!(
        "{}<SECRET>{}",
        String::from_utf8_lossy(&hay[from..at]),
        String::from_utf8_lossy(&hay[at + len..to])
    )
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
