//! The JWT claims decoder: `jwt::decode_claims` on arbitrary text never panics, and
//! a token built from arbitrary claims decodes back to exactly those claims (with or
//! without base64 padding, surrounding whitespace, or a signature of any shape).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine;
use keyless_aws::jwt::{decode_claims, Claims};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Built {
    sub: Option<String>,
    aud: Vec<String>,
    aud_as_string: bool,
    iss: Option<String>,
    repository: Option<String>,
    repository_owner: Option<String>,
    git_ref: Option<String>,
    environment: Option<String>,
    job_workflow_ref: Option<String>,
    event_name: Option<String>,
    exp: Option<i64>,
    /// Claims the decoder does not model, which it keeps as sent in `other`.
    extra: Vec<(String, String)>,
    header: String,
    signature: String,
    padded: bool,
    spaces: bool,
}

fuzz_target!(|data: &[u8]| {
    // 1. Whatever the bytes, as text.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_claims(text);
    }
    // 2. Structured: build a token and read it back.
    let mut u = Unstructured::new(data);
    let Ok(b) = Built::arbitrary(&mut u) else {
        return;
    };
    let aud = if b.aud_as_string && b.aud.len() == 1 {
        serde_json::Value::from(b.aud[0].clone())
    } else {
        serde_json::Value::from(b.aud.clone())
    };
    let mut payload = serde_json::Map::new();
    for (k, v) in &b.extra {
        payload.insert(k.clone(), serde_json::Value::from(v.clone()));
    }
    let opt = |v: &Option<String>| {
        v.clone()
            .map_or(serde_json::Value::Null, serde_json::Value::from)
    };
    payload.insert("sub".into(), opt(&b.sub));
    payload.insert("aud".into(), aud);
    payload.insert("iss".into(), opt(&b.iss));
    payload.insert("repository".into(), opt(&b.repository));
    payload.insert("repository_owner".into(), opt(&b.repository_owner));
    payload.insert("ref".into(), opt(&b.git_ref));
    payload.insert("environment".into(), opt(&b.environment));
    payload.insert("job_workflow_ref".into(), opt(&b.job_workflow_ref));
    payload.insert("event_name".into(), opt(&b.event_name));
    payload.insert(
        "exp".into(),
        b.exp
            .map_or(serde_json::Value::Null, serde_json::Value::from),
    );
    let json = serde_json::Value::Object(payload).to_string();
    let engine = if b.padded {
        base64::engine::general_purpose::URL_SAFE
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
    };
    let no_pad = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signature: String = b.signature.chars().filter(|c| *c != '.').collect();
    let mut token = format!(
        "{}.{}.{}",
        no_pad.encode(&b.header),
        engine.encode(&json),
        no_pad.encode(&signature)
    );
    if b.spaces {
        token = format!(" \n{token}\t ");
    }
    let decoded = decode_claims(&token);
    if token.len() > 16 * 1024 {
        assert!(decoded.is_none(), "a token over 16 KiB was decoded");
        return;
    }
    let expected = Claims {
        sub: b.sub,
        aud: b.aud,
        iss: b.iss,
        repository: b.repository,
        repository_owner: b.repository_owner,
        git_ref: b.git_ref,
        environment: b.environment,
        job_workflow_ref: b.job_workflow_ref,
        event_name: b.event_name,
        exp: b.exp,
        // Claims the decoder does not model are kept as sent (check-trust reads
        // them); the known names above win over an extra of the same name.
        other: b
            .extra
            .iter()
            .filter(|(k, _)| {
                ![
                    "sub",
                    "aud",
                    "iss",
                    "repository",
                    "repository_owner",
                    "ref",
                    "environment",
                    "job_workflow_ref",
                    "event_name",
                    "exp",
                ]
                .contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
            .collect(),
    };
    assert_eq!(decoded.as_ref(), Some(&expected), "token {token:?}");
    // A fourth segment makes it something else than a compact JWS.
    assert!(decode_claims(&format!("{}.x", token.trim())).is_none());
});
