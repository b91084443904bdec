//! What the user reads at the end of a run: the log line and step summary on
//! success, the annotation, details group and summary section on failure.

use crate::error::Error;
use crate::plan::Warning;
use crate::run::{Done, Identity};
use crate::run_profiles::ProfileIdentity;
use crate::text::{markdown_cell as cell, markdown_text as text};
use crate::workflow;
use std::path::Path;

/// What a successful run did, whichever kind it was.
pub fn finished(done: &Done, region: &str, masked_account: bool, summary: Option<&Path>) {
    match done {
        Done::One(identity) => success(identity, region, masked_account, summary),
        Done::Profiles(profiles) => profiles_written(profiles, masked_account, summary),
    }
}

/// `roles`: one log line per profile, and one table row each.
pub fn profiles_written(
    profiles: &[ProfileIdentity],
    masked_account: bool,
    summary: Option<&Path>,
) {
    let hide = |v: &str| {
        if masked_account {
            "***".to_owned()
        } else {
            v.to_owned()
        }
    };
    let mut md = String::from("### AWS profiles configured\n\n| Profile | Identity | Account | Region | Expires |\n|---|---|---|---|---|\n");
    for p in profiles {
        let id = &p.identity;
        let expires = id.expiration.as_deref().unwrap_or("?");
        workflow::info(&format!(
            "Profile {}: {} (account {}, region {}, via {}); expires at {expires}",
            p.name,
            hide(&id.arn),
            hide(&id.account),
            p.region,
            id.how
        ));
        md.push_str(&format!(
            "| `{}` | `{}` | `{}` | `{}` | `{}` |\n",
            cell(p.name.as_str()),
            cell(&hide(&id.arn)),
            cell(&hide(&id.account)),
            cell(p.region.as_str()),
            cell(expires)
        ));
    }
    md.push('\n');
    workflow::append_summary(summary, &md);
}

/// The plan's warnings, one `::warning` annotation each, titled with the input
/// so the run's page lists which inputs had no effect (or were adjusted).
pub fn warnings(warnings: &[Warning]) {
    for w in warnings {
        workflow::warning(
            &format!("Input `{}`", w.input),
            &format!("`{}` {}", w.input, w.message),
        );
    }
}

/// `summary` is the step summary file (`GITHUB_STEP_SUMMARY`), if any.
pub fn success(identity: &Identity, region: &str, masked_account: bool, summary: Option<&Path>) {
    if identity.arn.is_empty() {
        // No credentials were looked at (`web-identity-token-file` without a role).
        workflow::info(&format!(
            "No credentials obtained ({}); region {region}.",
            identity.how
        ));
        return;
    }
    let account = if masked_account {
        "***"
    } else {
        identity.account.as_str()
    };
    let arn = if masked_account {
        "***".to_owned()
    } else {
        identity.arn.clone()
    };
    let mut line = format!(
        "Authenticated as {arn} (account {account}, region {region}, via {})",
        identity.how
    );
    if let Some(exp) = &identity.expiration {
        line.push_str(&format!("; credentials expire at {exp}"));
    }
    workflow::info(&line);
    let mut md = String::from("### AWS credentials configured\n\n| | |\n|---|---|\n");
    md.push_str(&format!(
        "| Identity | `{}` |\n| Account | `{}` |\n| Region | `{}` |\n| Obtained via | {} |\n",
        cell(&arn),
        cell(account),
        cell(region),
        identity.how
    ));
    if let Some(session) = &identity.session_name {
        md.push_str(&format!("| Session name | `{}` |\n", cell(session)));
    }
    if let Some(exp) = &identity.expiration {
        md.push_str(&format!("| Expires | `{}` |\n", cell(exp)));
    }
    md.push('\n');
    workflow::append_summary(summary, &md);
}

pub fn failure(error: &Error, summary: Option<&Path>) {
    let message = error.to_string();
    let help = error.help();
    workflow::error(error.title(), &message);
    workflow::group("Why and how to fix it", &help);
    let md = format!(
        "### AWS credentials: {}\n\n{}\n\n```text\n{}\n```\n\nNothing was exported.\n\n",
        error.title(),
        text(&message),
        help.replace("```", "'''")
    );
    workflow::append_summary(summary, &md);
}
