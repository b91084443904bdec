//! action.yml, read with a YAML parser (yaml-rust2) into JSON values, for the runner
//! emulation (declared inputs, defaults, `runs:`) and the action.yml ↔ binary test.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use yaml_rust2::{Yaml, YamlLoader};

/// The repository's action.yml as JSON. Panics when it is missing or not YAML.
pub fn action_manifest() -> &'static Value {
    static MANIFEST: OnceLock<Value> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        let path = super::repo_root().join("action.yml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let docs = YamlLoader::load_from_str(&text)
            .unwrap_or_else(|e| panic!("action.yml is not YAML: {e}"));
        to_json(docs.first().expect("action.yml is empty"))
    })
}

fn to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) | Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => panic!("action.yml: unexpected key {other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("action.yml: unsupported YAML node {other:?}"),
    }
}

/// Every input action.yml declares, with its default as the runner passes it (empty
/// when none). `${{ runner.temp }}`, `runner.os` and `runner.arch` are the only
/// expressions evaluated; any other makes this panic (the emulation would be wrong).
pub fn input_defaults(runner_temp: &str) -> BTreeMap<String, String> {
    let mut inputs = BTreeMap::new();
    let declared = action_manifest()["inputs"]
        .as_object()
        .expect("action.yml declares inputs");
    for (name, spec) in declared {
        let default = match &spec["default"] {
            Value::Null => String::new(),
            // Defaults may use github, runner, … (action_yaml.json
            // input-default-context); these are the ones this emulation knows.
            Value::String(s) => {
                let v = s
                    .replace("${{ runner.temp }}", runner_temp)
                    .replace("${{ runner.os }}", "Linux")
                    .replace("${{ runner.arch }}", "X64");
                assert!(
                    !v.contains("${{"),
                    "input {name}: the test harness cannot evaluate the default {s:?}"
                );
                v
            }
            other => other.to_string(),
        };
        inputs.insert(name.clone(), default);
    }
    inputs
}
