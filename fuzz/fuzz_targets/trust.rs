//! `check-trust` on arbitrary input: a policy text and a claims text (the input
//! split at its first NUL byte). Parsing either may refuse; whatever both accept
//! is evaluated, rendered and linted without a panic, the verdict agrees with
//! lint's fast decision, and scripts/fuzz.sh gives each input a time limit, so an
//! input that makes the evaluator slow (issue 22.4) is reported as a timeout.
#![no_main]

use keyless_aws::trust::{claims, eval, policy, report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (policy_text, claims_text) = text.split_once('\0').unwrap_or((text, "{}"));
    let Ok(policy) = policy::parse(policy_text) else {
        return;
    };
    let Ok(map) = claims::from_claims_json(claims_text) else {
        return;
    };
    let req = claims::Request::new(map, claims::Source::ClaimsFile);
    let (out, decision) = report(&policy, &req);
    assert_eq!(eval::decide(&policy, &req), decision);
    assert!(out.starts_with("Request: "), "{out}");
});
