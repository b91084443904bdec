//! Just enough HTTP/1.1 for a token endpoint: one GET per connection, the head read
//! with a size cap, the answer sent with `Connection: close`.
//!
//! hyper's server half is not compiled into the release binary (only its client is),
//! and a dev endpoint that answers three paths does not need keep-alive, pipelining or
//! request bodies, so this small reader is the cheaper and easier-to-audit choice.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest request head read; the runner's token request is a few hundred bytes.
pub const MAX_HEAD: usize = 16 * 1024;

/// The parts of a request the server looks at.
#[derive(Debug, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
}

/// Why a request could not be read; each maps to a status (or to silence).
#[derive(Debug, PartialEq)]
pub enum ReadError {
    /// The peer closed before sending a whole head: nothing to answer.
    Closed,
    TooLarge,
    Malformed(&'static str),
}

impl ReadError {
    pub fn status(&self) -> u16 {
        match self {
            ReadError::Closed => 0,
            ReadError::TooLarge => 431,
            ReadError::Malformed(_) => 400,
        }
    }
    pub fn message(&self) -> &'static str {
        match self {
            ReadError::Closed => "closed",
            ReadError::TooLarge => "request head larger than 16 KiB",
            ReadError::Malformed(what) => what,
        }
    }
}

/// Reads one request head (the body, if any, is ignored: a GET has none).
pub async fn read_request<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Request, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = find_head_end(&buf) {
            return parse_head(&buf[..end]);
        }
        if buf.len() >= MAX_HEAD {
            return Err(ReadError::TooLarge);
        }
        let want = chunk.len().min(MAX_HEAD + 4 - buf.len());
        let n = reader
            .read(&mut chunk[..want])
            .await
            .map_err(|_| ReadError::Closed)?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Parses a request line and headers (without the final blank line).
pub fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let text =
        std::str::from_utf8(head).map_err(|_| ReadError::Malformed("request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed("bad request line"));
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(ReadError::Malformed("only HTTP/1.x is served"));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ReadError::Malformed("bad method"));
    }
    if !target.starts_with('/') || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ReadError::Malformed("bad request target"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut authorization = None;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(ReadError::Malformed("bad header line"))?;
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(ReadError::Malformed("bad header name"));
        }
        if name.eq_ignore_ascii_case("authorization") {
            if authorization.is_some() {
                return Err(ReadError::Malformed("more than one Authorization header"));
            }
            authorization = Some(value.trim().to_owned());
        }
    }
    Ok(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        authorization,
    })
}

/// A complete response with a JSON body.
pub fn response(status: u16, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        body.len()
    );
    if status == 405 {
        out.push_str("Allow: GET\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_runner_style_request() {
        let raw = b"GET /token?api-version=2.0&audience=sts.amazonaws.com HTTP/1.1\r\nHost: x\r\nAuthorization: bearer abc\r\nUser-Agent: t\r\n\r\n";
        let req = read_request(&mut &raw[..]).await.unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/token");
        assert_eq!(req.query, "api-version=2.0&audience=sts.amazonaws.com");
        assert_eq!(req.authorization.as_deref(), Some("bearer abc"));
    }

    #[tokio::test]
    async fn caps_and_rejects() {
        let big = [
            b"GET / HTTP/1.1\r\nX: ".as_slice(),
            &vec![b'a'; MAX_HEAD],
            b"\r\n\r\n",
        ]
        .concat();
        assert_eq!(read_request(&mut &big[..]).await, Err(ReadError::TooLarge));
        assert_eq!(
            read_request(&mut &b"GET / HTTP/1.1\r\n"[..]).await,
            Err(ReadError::Closed)
        );
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET x HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nno-colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nAuthorization: a\r\nauthorization: b\r\n\r\n",
        ] {
            assert_eq!(
                read_request(&mut &bad[..]).await.unwrap_err().status(),
                400,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let r = String::from_utf8(response(405, "{}")).unwrap();
        assert!(
            r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")
                && r.contains("Allow: GET")
                && r.ends_with("\r\n\r\n{}")
        );
    }
}
