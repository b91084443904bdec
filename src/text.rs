//! Text from outside (token claims, STS messages, user values) placed into
//! what the user reads: one escaping function per medium, used by every front
//! end (the action, `assume`, `credential-process`, `check-trust`, `setup`):
//!
//! | medium | function |
//! |---|---|
//! | a workflow command's data / property | [`escape_data`] / [`escape_property`] |
//! | a log line (stdout or stderr: the runner reads commands on both) | [`log_text`] ([`neutralize`] per line) |
//! | a value inside a sentence | [`one_line`] |
//! | a word of a suggested shell command | [`shell_word`] |
//! | a string in a JSON snippet (a trust-policy condition) | [`json_string`] |
//! | a string in a Terraform (HCL) snippet | [`hcl_string`] |
//! | Markdown in the step summary | [`markdown_text`] / [`markdown_cell`] |
//!
//! Both the workflow writer and the debug-log redactor use it, so it depends on
//! neither.

/// Escapes a workflow command's data (the part after `::`): the runner undoes
/// exactly this, and a raw newline could otherwise begin a new command line.
pub fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command property value (`title=…`), which additionally
/// must not contain the `:` and `,` that separate properties.
pub fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// A log line that would read as a workflow command (`::x::`, legacy `##[x]`)
/// after the runner trims it gets its marker broken up. Only text from outside
/// can produce such a line; our own lines never start that way. The runner looks
/// for the legacy `##[` anywhere in a line, so every one of those is broken up.
pub fn neutralize(line: &str) -> String {
    let trimmed = line.trim_start();
    let line = if trimmed.starts_with("::") || trimmed.starts_with("##[") {
        format!(
            "{}{}",
            &trimmed[..1],
            trimmed[1..].replacen(['#', ':'], " ", 1)
        )
    } else {
        line.to_owned()
    };
    if line.contains("##[") {
        line.replace("##[", "# [")
    } else {
        line
    }
}

/// Text from outside (an STS message, a token claim) reduced to one printable
/// line of bounded length, before it is placed into any message.
pub fn one_line(value: &str) -> String {
    let mut out: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(2000)
        .collect();
    if value.chars().count() > 2000 {
        out.push('…');
    }
    out
}

/// A URL as it may be shown: without user name, password or query (the token
/// request URL's query is runner-issued and not to be printed).
pub fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let had_userinfo = !url.username().is_empty() || url.password().is_some();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let text = shown.as_str().trim_end_matches('/').to_owned();
    match (had_userinfo, text.split_once("://")) {
        (true, Some((scheme, rest))) => format!("{scheme}://***@{rest}"),
        _ => text,
    }
}

/// Text for a log the runner reads (stdout or stderr of a step): every line
/// without control characters and [`neutralize`]d, so no value from outside
/// can begin a workflow command (`::error::`, `::stop-commands::`, `##[…]`).
pub fn log_text(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let clean: String = line
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            neutralize(&clean)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `value` as one POSIX shell word on one line: as is when it has no special
/// characters, else single-quoted (nothing is special inside single quotes
/// but the quote itself). A user pasting a suggested command runs none of it.
/// Control characters, which no log line can carry, become spaces first
/// ([`one_line`]): a command shown over two lines would be pasted as two.
pub fn shell_word(value: &str) -> String {
    let value = &one_line(value);
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// `value` as a JSON string literal, quotes included.
pub fn json_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

/// `value` as a Terraform (HCL) string literal, quotes included: JSON's
/// escapes, and `${` / `%{` doubled so nothing is interpolated.
pub fn hcl_string(value: &str) -> String {
    json_string(value).replace("${", "$${").replace("%{", "%%{")
}

/// Text from outside shown as Markdown: HTML and links are not interpreted.
pub fn markdown_text(value: &str) -> String {
    value
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('[', "\\[")
        .replace(']', "\\]")
}

/// Text from outside kept inside a table cell's code span.
pub fn markdown_cell(value: &str) -> String {
    value.replace(['`', '|', '\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escaping_blocks_new_command_lines() {
        let hostile = "x\n::set-env name=A::b\r\n::add-mask::%";
        let escaped = escape_data(hostile);
        assert!(!escaped.contains('\n') && !escaped.contains('\r'));
        assert_eq!(escaped, "x%0A::set-env name=A::b%0D%0A::add-mask::%25");
        assert_eq!(escape_property("a:b,c\n"), "a%3Ab%2Cc%0A");
        assert_eq!(neutralize("  ::set-env name=A::b"), ": set-env name=A::b");
        assert_eq!(neutralize("##[set-env]x"), "# [set-env]x");
        assert_eq!(neutralize("Role: x"), "Role: x");
        assert_eq!(
            neutralize("STS: no ##[add-mask]x ##[y]"),
            "STS: no # [add-mask]x # [y]"
        );
        assert_eq!(one_line("a\n::b\r"), "a ::b ");
    }

    #[test]
    fn every_medium_has_its_escaping() {
        assert_eq!(
            log_text("ok\n::stop-commands::x\r\n  ::error::y"),
            "ok\n: stop-commands::x \n: error::y"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("o/r"), "o/r");
        assert_eq!(shell_word("$(id)"), "'$(id)'");
        assert_eq!(json_string("a\"b"), "\"a\\\"b\"");
        assert_eq!(
            hcl_string("${file(\"x\")}%{if}"),
            "\"$${file(\\\"x\\\")}%%{if}\""
        );
        assert_eq!(markdown_text("<a>[x]"), "&lt;a&gt;\\[x\\]");
        assert_eq!(markdown_cell("a|b`c"), "a b c");
    }
}
