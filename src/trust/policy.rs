//! A role trust policy, parsed strictly: what IAM would refuse to store is bad
//! input here too, so a verdict is never given for a document AWS would reject.
//! Element names and their forms follow the IAM JSON policy element reference
//! (Version, Statement, Sid, Effect, Principal, Action/NotAction, Condition);
//! Resource belongs to permissions policies, and NotPrincipal cannot be used in
//! a role trust policy (IAM JSON policy elements: NotPrincipal, "Key points").

use super::json::{self, Json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables `${…}` are substituted.
    V2012,
    /// `2008-10-17`, or no Version (IAM's default): `${…}` is literal text.
    V2008,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Principals {
    /// `"*"`: every principal.
    Any,
    /// `{ "Federated": [...], "AWS": [...], ... }` in document order.
    Map(Vec<(String, Vec<String>)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpec {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

/// The comparison an operator makes, before negation and set qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Equals,
    EqualsIgnoreCase,
    Like,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    String {
        compare: Compare,
        negated: bool,
    },
    /// `Null`: "true" means the key must be absent, "false" present.
    Null,
    /// `Bool`: compared as the strings "true"/"false", ignoring case.
    Bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// As written in the policy, for messages.
    pub name: String,
    pub set: Option<SetQualifier>,
    pub base: Base,
    pub if_exists: bool,
}

impl Operator {
    pub fn is_negated(&self) -> bool {
        matches!(self.base, Base::String { negated: true, .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// As written; IAM compares key names without regard to case.
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// 0-based position in the Statement list.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Principals,
    pub action: ActionSpec,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// How messages name the statement: its Sid, else its position.
    pub fn label(&self) -> String {
        match self.sid.as_deref().filter(|s| !s.is_empty()) {
            Some(sid) => format!("statement {} (Sid \"{sid}\")", self.index + 1),
            None => format!("statement {}", self.index + 1),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub statements: Vec<Statement>,
}

/// Parses a trust policy document; the error says what is wrong and the fix.
pub fn parse(text: &str) -> Result<Policy, String> {
    let doc = json::parse(text).map_err(|e| {
        let iam = if e.contains("duplicate key") {
            " (IAM rejects such a policy: MalformedPolicyDocument)"
        } else {
            ""
        };
        // The IAM API (boto3, raw HTTP) returns AssumeRolePolicyDocument
        // URL-encoded; only the AWS CLI decodes it.
        let encoded = if text.trim_start().starts_with("%7B") || text.trim_start().starts_with("%7b") {
            ". It is URL-encoded, as the IAM API returns it: decode it first (`aws iam get-role --role-name R --query Role.AssumeRolePolicyDocument` prints it decoded)"
        } else {
            ""
        };
        format!("the policy is not valid JSON: {e}{iam}{encoded}")
    })?;
    printable(&doc)?;
    let Json::Object(members) = &doc else {
        return Err(format!(
            "the policy is {}, not a JSON object with \"Version\" and \"Statement\"",
            doc.kind()
        ));
    };
    let mut version = Version::V2008;
    let mut statements = None;
    for (key, value) in members {
        match key.as_str() {
            "Version" => {
                version = match value {
                    Json::String(v) if v == "2012-10-17" => Version::V2012,
                    Json::String(v) if v == "2008-10-17" => Version::V2008,
                    other => return Err(format!("\"Version\" must be \"2012-10-17\" (or the old \"2008-10-17\"), not {}", show(other))),
                }
            }
            "Id" => {}
            "Statement" => statements = Some(value),
            other => {
                return Err(format!(
                    "unknown top-level element {other:?}: a policy has only \"Version\", \"Id\" and \"Statement\"{}",
                    if other == "AssumeRolePolicyDocument" || other == "Role" {
                        " (pass the AssumeRolePolicyDocument itself, e.g. `aws iam get-role --role-name R --query Role.AssumeRolePolicyDocument`)"
                    } else {
                        ""
                    }
                ))
            }
        }
    }
    let statements = statements.ok_or("the policy has no \"Statement\"")?;
    let list: Vec<&Json> = match statements {
        Json::Array(items) => items.iter().collect(),
        Json::Object(_) => vec![statements],
        other => {
            return Err(format!(
                "\"Statement\" must be an object or a list of objects, not {}",
                other.kind()
            ))
        }
    };
    if list.is_empty() {
        return Err("\"Statement\" is an empty list".into());
    }
    let statements = list
        .into_iter()
        .enumerate()
        .map(|(i, s)| statement(i, s).map_err(|e| format!("statement {}: {e}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Policy {
        version,
        statements,
    })
}

/// Every name and value in a trust policy is printable text. A control
/// character (a newline above all) would let a value start a line of its own
/// in the report, where a CI runner may read it as a workflow command.
fn printable(v: &Json) -> Result<(), String> {
    let check = |s: &str| {
        match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "the policy has a control character (U+{:04X}) in {:?}; names and values in a trust policy are printable text",
            c as u32,
            s.chars().take(60).collect::<String>()
        )),
        None => Ok(()),
    }
    };
    match v {
        Json::String(s) => check(s),
        Json::Array(items) => items.iter().try_for_each(printable),
        Json::Object(members) => members.iter().try_for_each(|(k, v)| {
            check(k)?;
            printable(v)
        }),
        _ => Ok(()),
    }
}

fn show(v: &Json) -> String {
    match v {
        Json::String(s) => format!("{s:?}"),
        other => other.kind().into(),
    }
}

fn statement(index: usize, json: &Json) -> Result<Statement, String> {
    let Json::Object(members) = json else {
        return Err(format!(
            "a statement must be an object, not {}",
            json.kind()
        ));
    };
    let (mut sid, mut effect, mut principal, mut action, mut conditions) =
        (None, None, None, None, Vec::new());
    for (key, value) in members {
        match key.as_str() {
            "Sid" => match value {
                // IAM: "Statement IDs (SID) must be alpha-numeric" ([0-9A-Za-z]*).
                Json::String(s) if s.chars().all(|c| c.is_ascii_alphanumeric()) => sid = Some(s.clone()),
                Json::String(s) => return Err(format!("\"Sid\" {s:?} has characters other than letters and digits; IAM refuses it in a role policy (\"Statement IDs (SID) must be alpha-numeric\"). Write it as {:?}", s.chars().filter(char::is_ascii_alphanumeric).collect::<String>())),
                other => return Err(format!("\"Sid\" must be a string, not {}", other.kind())),
            },
            "Effect" => {
                effect = Some(match value {
                    Json::String(s) if s == "Allow" => Effect::Allow,
                    Json::String(s) if s == "Deny" => Effect::Deny,
                    other => return Err(format!("\"Effect\" must be \"Allow\" or \"Deny\" (exactly so written), not {}", show(other))),
                })
            }
            "Principal" => principal = Some(principals(key, value)?),
            "NotPrincipal" => {
                return Err("it has \"NotPrincipal\", which IAM does not accept in a role trust policy (IAM JSON policy elements: NotPrincipal). Name who may assume the role in \"Principal\", and exclude tokens with a Deny statement's Condition".into())
            }
            "Action" | "NotAction" => {
                if action.is_some() {
                    return Err("a statement has either \"Action\" or \"NotAction\", not both".into());
                }
                let names = strings(key, value)?;
                action = Some(if key == "Action" {
                    ActionSpec::Action(names)
                } else {
                    ActionSpec::NotAction(names)
                });
            }
            "Resource" | "NotResource" => {
                return Err(format!(
                    "it has \"{key}\": that is a permissions policy, not a role trust policy. A trust policy names who may assume the role (\"Principal\") and has no Resource; pass the role's trust policy (`aws iam get-role --role-name R --query Role.AssumeRolePolicyDocument`)"
                ))
            }
            "Condition" => conditions = condition_block(value)?,
            other => return Err(format!("unknown element {other:?}; a trust policy statement has Sid, Effect, Principal, Action or NotAction, and Condition")),
        }
    }
    let effect = effect.ok_or("it has no \"Effect\" (\"Allow\" or \"Deny\")")?;
    let principal = principal.ok_or(
        "it has no \"Principal\": a role trust policy names who may assume the role, e.g. \"Principal\": {\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com\"}",
    )?;
    let action = action.ok_or("it has no \"Action\" (e.g. \"sts:AssumeRoleWithWebIdentity\")")?;
    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        action,
        conditions,
    })
}

fn strings(element: &str, value: &Json) -> Result<Vec<String>, String> {
    let items: Vec<&Json> = match value {
        Json::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    if items.is_empty() {
        return Err(format!("\"{element}\" is an empty list"));
    }
    items
        .into_iter()
        .map(|v| match v {
            Json::String(s) => Ok(s.clone()),
            other => Err(format!(
                "\"{element}\" must hold strings, not {}",
                other.kind()
            )),
        })
        .collect()
}

const PRINCIPAL_TYPES: [&str; 4] = ["AWS", "Federated", "Service", "CanonicalUser"];

fn principals(element: &str, value: &Json) -> Result<Principals, String> {
    match value {
        Json::String(s) if s == "*" => Ok(Principals::Any),
        Json::Object(members) if !members.is_empty() => members
            .iter()
            .map(|(ty, v)| {
                if !PRINCIPAL_TYPES.contains(&ty.as_str()) {
                    return Err(format!("unknown principal type {ty:?} in \"{element}\"; IAM knows {PRINCIPAL_TYPES:?}"));
                }
                let values = strings(&format!("{element}.{ty}"), v)?;
                if ty == "Federated" {
                    values.iter().try_for_each(|v| federated_arn(v))?;
                }
                Ok((ty.clone(), values))
            })
            .collect::<Result<_, _>>()
            .map(Principals::Map),
        other => Err(format!("\"{element}\" must be \"*\" or an object like {{\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/HOST\"}}, not {}", show(other))),
    }
}

/// A Federated principal that is an ARN must be a well-formed provider ARN
/// (`arn:PARTITION:iam::ACCOUNT:oidc-provider/URL`, ACCOUNT twelve digits):
/// IAM refuses to save a trust policy with any other ("Invalid principal in
/// policy"), so no verdict is given for one.
fn federated_arn(value: &str) -> Result<(), String> {
    if !value.starts_with("arn:") {
        return Ok(());
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let fix = "write it as \"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com\" with your 12-digit account id (IAM answers \"Invalid principal in policy\" otherwise)";
    let [_, partition, service, region, account, resource] = parts[..] else {
        return Err(format!(
            "Principal.Federated {value:?} is not an ARN of an identity provider; {fix}"
        ));
    };
    if !partition.starts_with("aws") || service != "iam" || !region.is_empty() {
        return Err(format!("Principal.Federated {value:?} is not an IAM identity-provider ARN (arn:PARTITION:iam::ACCOUNT:…); {fix}"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Principal.Federated {value:?}: the account {account:?} is not a 12-digit AWS account id; {fix}"));
    }
    match resource.split_once('/') {
        Some(("oidc-provider" | "saml-provider", name))
            if !name.is_empty() && !name.contains(char::is_whitespace) && !name.contains("://") =>
        {
            Ok(())
        }
        _ => Err(format!("Principal.Federated {value:?}: {resource:?} is not oidc-provider/HOST (or saml-provider/NAME); {fix}")),
    }
}

fn condition_block(value: &Json) -> Result<Vec<Condition>, String> {
    let Json::Object(operators) = value else {
        return Err(format!(
            "\"Condition\" must be an object of operators, not {}",
            value.kind()
        ));
    };
    let mut out = Vec::new();
    for (name, keys) in operators {
        let operator = operator(name)?;
        let Json::Object(keys) = keys else {
            return Err(format!(
                "\"Condition\".\"{name}\" must be an object of condition keys and values, not {}",
                keys.kind()
            ));
        };
        if keys.is_empty() {
            return Err(format!("\"Condition\".\"{name}\" is empty"));
        }
        for (key, values) in keys {
            let items: Vec<&Json> = match values {
                Json::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            if items.is_empty() {
                return Err(format!(
                    "the condition {name} {key:?} has an empty list of values"
                ));
            }
            let values = items
                .into_iter()
                .map(|v| match v {
                    Json::String(s) | Json::Number(s) => Ok(s.clone()),
                    Json::Bool(b) => Ok(b.to_string()),
                    other => Err(format!(
                        "the condition {name} {key:?} has {} as a value; values are strings",
                        other.kind()
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(operator.base, Base::Null | Base::Bool)
                && values
                    .iter()
                    .any(|v| !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false"))
            {
                return Err(format!(
                    "the condition {name} {key:?} takes \"true\" or \"false\""
                ));
            }
            out.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// Operators IAM has that this checker does not evaluate; named so the error
/// says "not supported here" rather than "unknown".
const NOT_EVALUATED: [&str; 16] = [
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "IpAddress",
    "NotIpAddress",
    "BinaryEquals",
    "ArnEquals",
];

fn operator(name: &str) -> Result<Operator, String> {
    let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Some(SetQualifier::ForAnyValue), rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Some(SetQualifier::ForAllValues), rest)
    } else {
        (None, name)
    };
    let (if_exists, base_name) = match rest.strip_suffix("IfExists") {
        Some(b) => (true, b),
        None => (false, rest),
    };
    let string = |compare, negated| Base::String { compare, negated };
    let base = match base_name {
        "StringEquals" => string(Compare::Equals, false),
        "StringNotEquals" => string(Compare::Equals, true),
        "StringEqualsIgnoreCase" => string(Compare::EqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => string(Compare::EqualsIgnoreCase, true),
        "StringLike" => string(Compare::Like, false),
        "StringNotLike" => string(Compare::Like, true),
        "Null" if set.is_none() && !if_exists => Base::Null,
        "Null" => return Err(format!("{name:?}: Null takes no ForAnyValue/ForAllValues qualifier and no IfExists (it already tests for absence)")),
        "Bool" => Base::Bool,
        known if NOT_EVALUATED.contains(&known) || known.starts_with("Arn") => {
            return Err(format!("the operator {name:?} is valid IAM but check-trust does not evaluate it (it evaluates String*, Null and Bool operators, which are what trust policies for OIDC use)"))
        }
        _ => return Err(format!("unknown condition operator {name:?}; did you mean one of StringEquals, StringLike, StringNotEquals, StringNotLike, StringEqualsIgnoreCase (optionally with ForAnyValue:/ForAllValues: and IfExists)? Operator names are case-sensitive")),
    };
    Ok(Operator {
        name: name.to_owned(),
        set,
        base,
        if_exists,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_github_trust_policy() {
        let p = parse(r#"{"Version":"2012-10-17","Statement":{"Sid":"GH","Effect":"Allow",
            "Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
            "Action":["sts:AssumeRoleWithWebIdentity"],
            "Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
                         "ForAnyValue:StringLikeIfExists":{"k":["a","b"]}}}}"#)
        .unwrap();
        assert_eq!(p.version, Version::V2012);
        let s = &p.statements[0];
        assert_eq!(s.label(), "statement 1 (Sid \"GH\")");
        assert_eq!(s.conditions.len(), 2);
        let op = &s.conditions[1].operator;
        assert_eq!(op.set, Some(SetQualifier::ForAnyValue));
        assert!(op.if_exists);
        assert_eq!(
            op.base,
            Base::String {
                compare: Compare::Like,
                negated: false
            }
        );
    }

    #[test]
    fn rejects_what_iam_rejects() {
        for (doc, expected) in [
            ("[]", "not a JSON object"),
            (r#"{"Version":"2012-10-17"}"#, "no \"Statement\""),
            (
                r#"{"Statement":[{"Effect":"allow","Principal":"*","Action":"sts:*"}]}"#,
                "\"Allow\" or \"Deny\"",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
                "permissions policy",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"sts:*"}]}"#,
                "no \"Principal\"",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"a":"b"},"StringEquals":{"c":"d"}}}]}"#,
                "duplicate key",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringEqual":{"a":"b"}}}]}"#,
                "unknown condition operator",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"DateLessThan":{"a":"b"}}}]}"#,
                "does not evaluate",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"Null":{"a":"yes"}}}]}"#,
                "\"true\" or \"false\"",
            ),
            (
                r#"{"Version":"2012-10-18","Statement":[]}"#,
                "\"Version\" must be",
            ),
            // Operator names are case-sensitive: IAM answers "MalformedPolicyDocument:
            // Invalid Condition type : stringEquals".
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"stringEquals":{"a":"b"}}}]}"#,
                "case-sensitive",
            ),
            // IAM JSON policy elements: NotPrincipal, "Key points": not in a role trust policy.
            (
                r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"Federated":"x"},"Action":"sts:*"}]}"#,
                "does not accept in a role trust policy",
            ),
        ] {
            let err = parse(doc).unwrap_err();
            assert!(err.contains(expected), "{doc}: {err}");
        }
    }
}
