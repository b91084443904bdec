//! Text placed into workflow commands and log lines: the escaping the runner
//! undoes, and the neutralising of text from outside that could otherwise read
//! as a command. Both the workflow writer and the debug-log redactor use it, so
//! it depends on neither.

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
}
