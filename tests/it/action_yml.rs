//! action.yml and the binary agree: the inputs action.yml declares are exactly the
//! ones the binary reads, and the defaults action.yml gives behave exactly like the
//! binary's own defaults (what a run outside the runner, or a missing default, gets).

use crate::support::manifest::{action_manifest, input_defaults};
use crate::support::scenario::ENV_BEFORE;
use crate::support::stand_in::WEB_IDENTITY;
use crate::support::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use wiremock::ResponseTemplate;

/// The input names the binary reads: the fields of `struct RawInputs` (wherever in
/// src/ it lives), which serde reads as kebab-case `INPUT_*` names.
fn raw_input_names() -> BTreeSet<String> {
    let sources: Vec<(PathBuf, String)> = files_with_ext(&repo_root().join("src"), "rs")
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .filter(|(_, t)| t.contains("pub struct RawInputs {"))
        .collect();
    assert_eq!(
        sources.len(),
        1,
        "expected exactly one `pub struct RawInputs {{` in src/: {:?}",
        sources.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let text = &sources[0].1;
    let before = &text[..text.find("pub struct RawInputs {").unwrap()];
    let attrs = before.rsplit("\n\n").next().unwrap_or_default();
    assert!(
        attrs.contains("rename_all = \"kebab-case\""),
        "RawInputs is no longer read as kebab-case; update this test:\n{attrs}"
    );
    let body = text.split("pub struct RawInputs {").nth(1).unwrap();
    let body = &body[..body.find("\n}").expect("end of RawInputs")];
    assert!(
        !body.contains("#[serde(rename"),
        "a RawInputs field is renamed; teach this test to read the rename"
    );
    body.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("pub "))
        .map(|l| {
            let name = l
                .trim_start_matches("pub ")
                .split(':')
                .next()
                .unwrap()
                .trim();
            name.replace('_', "-")
        })
        .collect()
}

#[test]
fn action_yml_declares_exactly_the_inputs_the_binary_reads() {
    let declared: BTreeSet<String> = action_manifest()["inputs"]
        .as_object()
        .expect("action.yml has inputs")
        .keys()
        .cloned()
        .collect();
    let read = raw_input_names();
    assert!(read.len() > 20, "parsed too few RawInputs fields: {read:?}");
    let only_yml: Vec<_> = declared.difference(&read).collect();
    let only_bin: Vec<_> = read.difference(&declared).collect();
    assert!(
        only_yml.is_empty() && only_bin.is_empty(),
        "action.yml and RawInputs differ.\n  declared in action.yml but never read: {only_yml:?}\n  read by the binary but not declared in action.yml (the runner would never pass them): {only_bin:?}"
    );
    for (name, spec) in action_manifest()["inputs"].as_object().unwrap() {
        assert!(
            spec["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty()),
            "input {name} has no description"
        );
        assert_ne!(
            spec["required"],
            serde_json::Value::Bool(true),
            "input {name} is required: every input is optional (the errors say what is missing)"
        );
    }
}

/// One successful OIDC run with action.yml's defaults and one with no input beyond
/// role and region: the same requests, the same exports, the same summary.
#[test]
fn action_yml_defaults_are_the_binary_defaults() {
    let sts = StsStandIn::new()
        .github_token("repo:octo-org/octo-repo:ref:refs/heads/main")
        .assume(WEB_IDENTITY);
    let with_defaults = Scenario::oidc_step(&sts);
    let bare = Scenario::bare()
        .oidc(&sts.uri())
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .stand_in(&sts);
    let a = with_defaults.run();
    let b = bare.run();
    a.assert_success();
    b.assert_success();

    let token_query = |o: &crate::support::scenario::Outcome| {
        o.requests
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .map(|r| r.url.query().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(token_query(&a), token_query(&b), "audience");
    let strip = |calls: Vec<std::collections::HashMap<String, String>>| {
        calls
            .into_iter()
            .map(|c| c.into_iter().collect::<std::collections::BTreeMap<_, _>>())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(a.sts_calls()),
        strip(b.sts_calls()),
        "STS request (duration, session name, tags, policies)"
    );
    let exported_b = file_commands_map(&b.env_file);
    assert_eq!(a.exported_env(), exported_b, "GITHUB_ENV exports");
    assert_eq!(a.outputs(), file_commands_map(&b.output_file), "outputs");
    let masks = |o: &crate::support::scenario::Outcome| {
        o.stdout
            .lines()
            .filter(|l| l.starts_with("::add-mask::"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(masks(&a), masks(&b), "what is masked");
    assert_eq!(
        a.summary
            .replace(with_defaults.dir.path().to_str().unwrap(), "[TMP]"),
        b.summary
            .replace(bare.dir.path().to_str().unwrap(), "[TMP]"),
        "step summary"
    );
    assert!(a.env_file.starts_with(ENV_BEFORE));
}

/// `retry-max-attempts`: STS failing with 503 every time is called exactly as often
/// with no input as action.yml's default says, or, as action.yml leaves it empty
/// (so RETRY_MAX_ATTEMPTS can fill it, as in the reference action), the binary's.
#[test]
fn retry_default_matches_action_yml() {
    let expected: usize = match input_defaults("/unused")["retry-max-attempts"].as_str() {
        "" => keyless_aws::inputs::network::DEFAULT_RETRY_MAX_ATTEMPTS as usize,
        v => v
            .parse()
            .expect("action.yml's retry-max-attempts default is a number"),
    };
    let sts = StsStandIn::new()
        .github_token("repo:octo-org/octo-repo:ref:refs/heads/main")
        .sts_answer(ResponseTemplate::new(503).set_body_string("busy"));
    let out = Scenario::bare()
        .oidc(&sts.uri())
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .stand_in(&sts)
        .run();
    assert_ne!(out.code, 0);
    assert_eq!(
        out.sts_calls().len(),
        expected,
        "attempts without the input (took {:.1?})\n{}",
        out.elapsed,
        out.stdout
    );
}

/// The post step is skipped as the reference skips it: action.yml carries the
/// reference's `post-if: env.AWS_SKIP_CLEANUP_STEP != 'true'` (reference:
/// action.yml), which GitHub evaluates ignoring case, so `TRUE` skips it too;
/// the binary applies the same rule where a runner starts it regardless.
#[test]
fn post_step_is_skipped_like_the_reference_ignoring_case() {
    assert_eq!(
        action_manifest()["runs"]["post-if"].as_str(),
        Some("env.AWS_SKIP_CLEANUP_STEP != 'true'")
    );
    for (value, skipped) in [
        ("true", true),
        ("TRUE", true),
        ("True", true),
        ("false", false),
        ("yes", false),
    ] {
        let out = Scenario::new()
            .env("AWS_SKIP_CLEANUP_STEP", value)
            .env("STATE_exported_env", "AWS_ACCESS_KEY_ID")
            .arg("post")
            .run();
        out.assert_success();
        assert_eq!(
            out.env_file == ENV_BEFORE,
            skipped,
            "AWS_SKIP_CLEANUP_STEP={value}: {}",
            out.env_file
        );
    }
}
