//! How `assume` hands credentials over: always on stdout (or, for `github`,
//! into the runner's GITHUB_ENV file, which lives outside the work tree), never
//! into a file of the repository.

use crate::secret::{Credentials, Secret};
use crate::workflow;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `export NAME='value'` lines for `eval "$(keyless-aws assume …)"`.
    Env,
    /// `NAME=value` lines, for `--env-file` and dotenv readers.
    Dotenv,
    /// One JSON object with the STS field names.
    Json,
    /// The SDKs' `credential_process` answer (Version 1).
    CredentialProcess,
    /// What the action does: `::add-mask::` lines, then GITHUB_ENV entries.
    GitHub,
}

impl Format {
    pub fn parse(value: &str) -> Result<Format, String> {
        Ok(match value {
            "env" => Format::Env,
            "dotenv" => Format::Dotenv,
            "json" => Format::Json,
            "credential-process" => Format::CredentialProcess,
            "github" => Format::GitHub,
            other => {
                return Err(format!(
                    "--format {other:?} is not one of env, dotenv, json, credential-process, github"
                ))
            }
        })
    }
}

/// The variables a later command reads, in the order they are written; held
/// as [`Secret`]s so the copies are zeroed too.
fn variables(creds: &Credentials, region: Option<&str>) -> Vec<(&'static str, Secret)> {
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.clone()),
        (
            "AWS_SESSION_TOKEN",
            creds
                .session_token
                .clone()
                .unwrap_or_else(|| Secret::new("")),
        ),
    ];
    if let Some(exp) = &creds.expiration {
        vars.push(("AWS_CREDENTIAL_EXPIRATION", Secret::new(exp.as_str())));
    }
    if let Some(region) = region {
        vars.push(("AWS_REGION", Secret::new(region)));
        vars.push(("AWS_DEFAULT_REGION", Secret::new(region)));
    }
    vars
}

/// POSIX shell single quotes: nothing inside is special except the quote itself.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The text for stdout (empty for `github`, which writes GITHUB_ENV itself),
/// held as a [`Secret`] so it is zeroed after use.
pub fn render(
    format: Format,
    creds: &Credentials,
    region: Option<&str>,
    github_env: Option<&Path>,
) -> Result<Secret, String> {
    let vars = variables(creds, region);
    let text = match format {
        Format::Env => vars
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", shell_quote(v.expose())))
            .collect::<String>(),
        Format::Dotenv => {
            // Unquoted, because `docker --env-file` keeps quotes as part of the
            // value; so every value must be one that needs no quoting anywhere.
            let safe = |v: &str| {
                v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/+=:._-".contains(c))
            };
            if let Some((k, _)) = vars.iter().find(|(_, v)| !safe(v.expose())) {
                return Err(format!("{k} holds characters a dotenv file cannot carry unquoted; use --format env or json"));
            }
            vars.iter()
                .map(|(k, v)| format!("{k}={}\n", v.expose()))
                .collect()
        }
        Format::Json | Format::CredentialProcess => {
            let mut object = serde_json::Map::new();
            if format == Format::CredentialProcess {
                object.insert("Version".into(), 1.into());
            }
            object.insert("AccessKeyId".into(), creds.access_key_id.expose().into());
            object.insert(
                "SecretAccessKey".into(),
                creds.secret_access_key.expose().into(),
            );
            if let Some(token) = &creds.session_token {
                object.insert("SessionToken".into(), token.expose().into());
            }
            if let Some(exp) = &creds.expiration {
                object.insert("Expiration".into(), exp.as_str().into());
            }
            if let (Format::Json, Some(region)) = (format, region) {
                object.insert("Region".into(), region.into());
            }
            format!("{}\n", serde_json::Value::Object(object))
        }
        Format::GitHub => {
            let path = github_env
                .ok_or("--format github needs GITHUB_ENV (it runs inside a GitHub Actions step)")?;
            // The caller has printed `::add-mask::` for every secret already
            // (assume masks each value the moment it is known).
            let mut export = workflow::Export::default();
            for (k, v) in &vars {
                export.env(k, v.expose());
            }
            // Only env entries are set, so the output file is never opened.
            export
                .commit(path, path, None)
                .map_err(|e| format!("{e}"))?;
            String::new()
        }
    };
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: Secret::new("ASIAEXAMPLE"),
            secret_access_key: Secret::new("se'cret/+="),
            session_token: Some(Secret::new("tok")),
            expiration: Some("2030-01-01T00:00:00Z".into()),
        }
    }

    #[test]
    fn env_lines_are_single_quoted() {
        let out = render(Format::Env, &creds(), Some("eu-west-1"), None).unwrap();
        assert!(
            out.expose()
                .contains("export AWS_SECRET_ACCESS_KEY='se'\\''cret/+='\n"),
            "{}",
            out.expose()
        );
        assert!(out.expose().contains("export AWS_REGION='eu-west-1'\n"));
    }

    #[test]
    fn dotenv_refuses_what_it_cannot_carry() {
        assert!(render(Format::Dotenv, &creds(), None, None).is_err());
    }

    #[test]
    fn credential_process_has_version_1() {
        let out = render(Format::CredentialProcess, &creds(), Some("eu-west-1"), None).unwrap();
        let v: serde_json::Value = serde_json::from_str(out.expose()).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["Expiration"], "2030-01-01T00:00:00Z");
        assert!(v.get("Region").is_none());
    }
}
