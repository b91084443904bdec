//! One HTTP/1.1 request with its body (STS calls are form POSTs), capped, and
//! a complete answer with `Connection: close`. Like the dev token server's
//! reader: no keep-alive, no chunked bodies (SDKs send `Content-Length`).

use tokio::io::{AsyncRead, AsyncReadExt};

/// Head and body caps: an STS call with a token and a session policy is a few KiB.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The query's and (for a form body) the body's parameters, in that order.
    pub fn params(&self) -> Vec<(String, String)> {
        let query = self.target.split_once('?').map_or("", |(_, q)| q);
        let mut out: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let form = self
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if form {
            out.extend(url::form_urlencoded::parse(&self.body).into_owned());
        }
        out
    }
}

/// Reads the head, then exactly `Content-Length` bytes of body.
pub async fn read_request<R: AsyncRead + Unpin>(r: &mut R) -> Result<Request, String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err("request head larger than 16 KiB".into());
        }
        let n = r.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(_version)) = (first.next(), first.next(), first.next())
    else {
        return Err("bad request line".into());
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = match headers.iter().find(|(n, _)| n == "content-length") {
        Some((_, v)) => v.parse().map_err(|_| "bad Content-Length")?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err("request body larger than 64 KiB".into());
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = r.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the whole body".into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body,
    })
}

/// A complete answer.
pub fn response(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_form_post_and_its_parameters() {
        let raw = b"POST /?X=1 HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: 40\r\n\r\nAction=AssumeRoleWithWebIdentity&R=a%2Bbtrailing";
        let req = read_request(&mut &raw[..]).await.unwrap();
        assert_eq!(req.method, "POST");
        let p = req.params();
        assert_eq!(p[0], ("X".into(), "1".into()));
        assert_eq!(p[1], ("Action".into(), "AssumeRoleWithWebIdentity".into()));
        assert_eq!(p[2], ("R".into(), "a+b".into()));
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(read_request(&mut big.as_bytes()).await.is_err());
    }
}
