//! Defence in depth for debug logs: every secret the run learns is registered
//! here (together with its common encodings), and the `tracing` writer replaces
//! any occurrence with `***` before a byte reaches stderr. The primary guard is
//! still that secrets live in [`crate::secret::Secret`] and are never formatted.

use base64::Engine;
use std::io::{self, Write};
use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Registers a secret value and its base64, URL- and JSON-escaped forms.
pub fn register(value: &str) {
    if value.len() < 4 {
        return;
    }
    let mut forms = vec![value.to_owned()];
    forms.push(base64::engine::general_purpose::STANDARD.encode(value));
    forms.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
    if let Ok(json) = serde_json::to_string(value) {
        forms.push(json.trim_matches('"').to_owned());
    }
    if let Ok(mut list) = SECRETS.lock() {
        for form in forms {
            if !list.contains(&form) {
                list.push(form);
            }
        }
        // Longest first, so a value is replaced whole before any part of it.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Replaces every registered secret in `text`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    if let Ok(list) = SECRETS.lock() {
        for secret in list.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
    }
    out
}

/// A `tracing` writer that buffers one event and writes it redacted to stderr.
#[derive(Default)]
pub struct RedactingWriter {
    buffer: Vec<u8>,
}

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            let text = redact(&String::from_utf8_lossy(&self.buffer));
            self.buffer.clear();
            // Every debug line is escaped like workflow command data, so text from
            // outside cannot form a command line on the runner either.
            let mut err = io::stderr().lock();
            for line in text.lines() {
                writeln!(
                    err,
                    "{}",
                    crate::text::neutralize(&crate::text::escape_data(line))
                )?;
            }
        }
        Ok(())
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_and_encodings_are_replaced() {
        register("s3cr3t/with+chars");
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t/with+chars");
        let text = format!("a s3cr3t/with+chars b {b64} c s3cr3t%2Fwith%2Bchars");
        let out = redact(&text);
        assert_eq!(out, "a *** b *** c ***");
    }
}
