//! The description of what the helper assumes: everything it needs except the
//! secrets. It is written by the action next to the helper and read by every
//! `credential-process` call, so it must never hold a secret: the token-request
//! token comes from the helper's own environment at run time, and a proxy URL
//! with a password is refused.
//!
//! The cache file is named relative to the description's own directory, not
//! by an absolute path: the same directory is `$RUNNER_TEMP/…` on the host,
//! `/__w/_temp/…` in a job container and `/github/runner_temp/…` in a Docker
//! action, and one description must serve all of them.

use crate::aws_names::ProfileName;
use crate::aws_names::{Audience, Region, RoleArn, SessionName};
use crate::plan::{
    Chain, CredentialSource, Network, PoolLogin, ProfilesPlan, RoleHop, RoleProfile, RoleTarget,
    Roots, SessionOptions, TokenSource,
};
use crate::tags::Tag;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The only format version this binary reads. A change that an older helper
/// would misread bumps it.
pub const VERSION: u32 = 1;

/// Serve a cached answer only while it has more than this left. botocore
/// refreshes 15 min before expiry (10 min mandatory), the JS SDK v3 5 min,
/// the Rust SDK 10 s (plus jitter): an answer with more than 20 min left is
/// taken by all of them without asking again at once. With a 3600 s session a
/// cached answer serves ~40 min, then the next call refreshes.
pub const DEFAULT_MIN_REMAINING_SECONDS: u64 = 20 * 60;

/// Cache and lock file names the action uses; kept beside the description.
pub const DEFAULT_CACHE_FILE: &str = "refresh-cache.json";

/// A description file larger than this is not one of ours.
pub const MAX_SIZE: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Description {
    pub version: u32,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_endpoint: Option<String>,
    pub audience: String,
    /// The role the token is exchanged for; absent when the token is an
    /// identity pool's login instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_identity: Option<WebIdentityRole>,
    /// `cognito-identity-pool-id` (or a `roles` line's `identity-pool=`): the
    /// token is this pool's login. Names only, no secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_pool: Option<DescribedPool>,
    /// Roles assumed one after the other, each signed with the previous
    /// credentials. AWS caps a chained session at 3600 s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainedRole>,
    #[serde(default, skip_serializing_if = "ProxySettings::is_empty")]
    pub proxy: ProxySettings,
    /// A plain file name, in the description's directory.
    pub cache_file: String,
    /// See [`DEFAULT_MIN_REMAINING_SECONDS`]; tests lower it to run in seconds.
    pub min_remaining_seconds: u64,
    /// Attempts per STS call and token request (the action's `retry-max-attempts`).
    pub retry_max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebIdentityRole {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i32,
    /// Session policies, as the action sent them (not secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
}

/// An identity pool the helper gives a fresh token to, as the action did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DescribedPool {
    pub pool_id: String,
    /// Cognito's CustomRoleArn (`role-to-assume`); absent for the pool's choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// AWS_ENDPOINT_URL_COGNITO_IDENTITY (or AWS_ENDPOINT_URL) as the action saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// Cognito's sessions last one hour, whatever the inputs ask.
const POOL_SESSION_SECONDS: i32 = 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChainedRole {
    /// Always a full ARN: a bare role name in the inputs is completed with
    /// the signing role's account and partition when the description is written.
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
    /// Session tags (the workflow's context: repository, ref, …; not secret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<DescribedTag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DescribedTag {
    pub key: String,
    pub value: String,
    /// Dropped first when STS says the packed tags are too large.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProxySettings {
    /// For `https://` URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    /// For `http://` URLs (a local stand-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
}

impl ProxySettings {
    fn is_empty(&self) -> bool {
        self.https_proxy.is_none() && self.http_proxy.is_none() && self.no_proxy.is_none()
    }
}

/// The description in the action's own types, ready for the STS calls.
#[derive(Debug)]
pub struct Resolved {
    pub region: Region,
    pub sts_endpoint: Option<url::Url>,
    pub audience: Audience,
    pub source: ResolvedSource,
    /// Every hop names its role by full ARN.
    pub chain: Vec<RoleHop>,
}

/// What the fresh token is exchanged for first.
#[derive(Debug)]
pub enum ResolvedSource {
    WebIdentity(RoleArn, SessionOptions),
    IdentityPool(PoolLogin, Option<RoleArn>),
}

/// Why a chain cannot be described for the helper.
pub const NOT_REFRESHABLE: &str = "only a web identity from the runner's token request (with or without roles chained after it) can be refreshed";

impl Description {
    /// The description of a plan's web-identity chain. Bare role names are
    /// completed here from the role that signs them, as the run does with
    /// `GetCallerIdentity`: the caller of a hop is the role before it.
    /// `None` when a bare role name follows a pool that chooses its own
    /// role: no account is known to complete it with.
    pub fn from_plan(
        region: &Region,
        network: &Network,
        start: Start<'_>,
        audience: &str,
        hops: &[RoleHop],
    ) -> Option<Description> {
        let (first_seconds, mut signer) = match start {
            Start::WebIdentity(role, session) => (session.duration_seconds, Some(role.clone())),
            Start::IdentityPool(_, role) => (POOL_SESSION_SECONDS, role.cloned()),
        };
        let shortest = hops
            .iter()
            .map(|h| h.session.duration_seconds)
            .chain([first_seconds])
            .min()
            .unwrap_or(900);
        let chain = hops
            .iter()
            .map(|hop| {
                let arn = match &hop.target {
                    RoleTarget::Arn(arn) => arn.clone(),
                    RoleTarget::Name(name) => {
                        let s = signer.as_ref()?;
                        RoleArn::new(s.partition(), s.account(), name)
                    }
                };
                signer = Some(arn.clone());
                Some(ChainedRole {
                    role_arn: arn.to_string(),
                    session_name: hop.session.name.to_string(),
                    duration_seconds: hop.session.duration_seconds,
                    external_id: hop.external_id.clone(),
                    inline_policy: hop.session.inline_policy.clone(),
                    managed_policies: hop.session.managed_policies.clone(),
                    tags: hop
                        .tags
                        .iter()
                        .flatten()
                        .map(|t| DescribedTag {
                            key: t.key.clone(),
                            value: t.value.clone(),
                            optional: t.optional,
                        })
                        .collect(),
                    transitive_tag_keys: if hop.tags.is_some() {
                        hop.transitive_tag_keys.clone()
                    } else {
                        Vec::new()
                    },
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let (sts_endpoint, proxy) = without_secrets(network);
        let (web_identity, identity_pool) = start.described();
        Some(Description {
            version: VERSION,
            region: region.to_string(),
            sts_endpoint,
            audience: audience.to_owned(),
            web_identity,
            identity_pool,
            chain,
            proxy,
            cache_file: DEFAULT_CACHE_FILE.into(),
            min_remaining_seconds: min_remaining(shortest),
            retry_max_attempts: network.retry.max_attempts.clamp(1, 12),
        })
    }

    /// The description of a chain the helper can replay: a web identity
    /// from the runner's token request, and the hops after it; `None` for
    /// any other chain (keys, the environment's credentials, a token file).
    pub fn from_chain(region: &Region, network: &Network, chain: &Chain) -> Option<Description> {
        let (token, start) = match &chain.source {
            CredentialSource::WebIdentity(web) => {
                (&web.token, Start::WebIdentity(&web.role, &web.session))
            }
            CredentialSource::IdentityPool(pool) => (
                &pool.token,
                Start::IdentityPool(&pool.login, pool.role.as_ref()),
            ),
            CredentialSource::Keys(_) | CredentialSource::Ambient(_) => return None,
        };
        let TokenSource::Request { audience, .. } = token else {
            return None;
        };
        Self::from_plan(region, network, start, audience.as_str(), &chain.hops)
    }

    /// Reads and validates a description file.
    pub fn load(path: &Path) -> Result<Description, String> {
        use std::io::Read;
        // What to assume and where to send the token: only from a file no
        // other user could have written (see `trusted_files`).
        let also =
            crate::trusted_files::dir_owner_for_root(path.parent().unwrap_or(Path::new(".")));
        let (file, _) = crate::trusted_files::open_trusted(path, also).map_err(|e| e.refusal())?;
        let mut text = String::new();
        file.take(MAX_SIZE + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if text.len() as u64 > MAX_SIZE {
            return Err(format!("it is larger than {MAX_SIZE} bytes"));
        }
        let description: Description = serde_json::from_str(&text)
            .map_err(|e| format!("it is not a valid description: {e}"))?;
        description.validate()?;
        Ok(description)
    }

    /// The JSON written to disk.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a description serialises");
        text.push('\n');
        text
    }

    /// Where the cache lives for a description read from `description_path`.
    pub fn cache_path(&self, description_path: &Path) -> PathBuf {
        description_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&self.cache_file)
    }

    /// Checks every field, so that a hand-edited or damaged file fails here
    /// with the field's name rather than at STS.
    pub fn validate(&self) -> Result<(), String> {
        self.resolve().map(|_| ())
    }

    /// Every field checked and parsed into the types the STS calls take.
    pub fn resolve(&self) -> Result<Resolved, String> {
        if self.version != VERSION {
            return Err(format!(
                "`version` is {}, but this keyless-aws reads version {VERSION}; the description was written by another release",
                self.version
            ));
        }
        let region = Region::parse(&self.region).map_err(|p| format!("`region` {p}"))?;
        let sts_endpoint = self.sts_endpoint()?;
        let audience = Audience::parse(&self.audience).map_err(|p| format!("`audience` {p}"))?;
        let source = self.source()?;
        let chain = self
            .chain
            .iter()
            .enumerate()
            .map(|(i, hop)| hop.resolve(&format!("chain[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        self.check_proxy()?;
        self.check_cache()?;
        Ok(Resolved {
            region,
            sts_endpoint,
            audience,
            source,
            chain,
        })
    }

    /// Exactly one of `web-identity` and `identity-pool`, checked.
    fn source(&self) -> Result<ResolvedSource, String> {
        match (&self.web_identity, &self.identity_pool) {
            (Some(web), None) => {
                let (arn, session) = role(
                    "web-identity",
                    &web.role_arn,
                    &web.session_name,
                    web.duration_seconds,
                    web.inline_policy.as_deref(),
                    &web.managed_policies,
                )?;
                Ok(ResolvedSource::WebIdentity(arn, session))
            }
            (None, Some(pool)) => pool.resolve(),
            _ => Err("exactly one of `web-identity` and `identity-pool` must be set".into()),
        }
    }

    /// The first session's lifetime: the web identity's, or Cognito's hour.
    fn first_seconds(&self) -> i32 {
        self.web_identity
            .as_ref()
            .map_or(POOL_SESSION_SECONDS, |w| w.duration_seconds)
    }

    fn sts_endpoint(&self) -> Result<Option<url::Url>, String> {
        let Some(endpoint) = &self.sts_endpoint else {
            return Ok(None);
        };
        let url =
            url::Url::parse(endpoint).map_err(|e| format!("`sts-endpoint` is not a URL ({e})"))?;
        if !matches!(url.scheme(), "https" | "http") || has_userinfo(&url) {
            return Err("`sts-endpoint` must be an http(s) URL without credentials".into());
        }
        Ok(Some(url))
    }

    /// A description never holds a secret: no proxy password.
    fn check_proxy(&self) -> Result<(), String> {
        for (name, proxy) in [
            ("https-proxy", &self.proxy.https_proxy),
            ("http-proxy", &self.proxy.http_proxy),
        ] {
            if let Some(proxy) = proxy {
                let url = url::Url::parse(proxy)
                    .map_err(|e| format!("`proxy.{name}` is not a URL ({e})"))?;
                if has_userinfo(&url) {
                    return Err(format!("`proxy.{name}` holds a user name or password; a description never holds secrets (give later steps HTTPS_PROXY themselves)"));
                }
            }
        }
        if let Some(no_proxy) = &self.proxy.no_proxy {
            printable("proxy.no-proxy", no_proxy, 4096)?;
        }
        Ok(())
    }

    /// The cache: a plain file name beside the description, served only
    /// while it has more left than the shortest session; and the retries.
    fn check_cache(&self) -> Result<(), String> {
        let name = &self.cache_file;
        if name.is_empty()
            || name.len() > 64
            || name.starts_with('.')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!(
                "`cache-file` {name:?} must be a plain file name (letters, digits, . _ -)"
            ));
        }
        let shortest = std::iter::once(self.first_seconds())
            .chain(self.chain.iter().map(|h| h.duration_seconds))
            .min()
            .unwrap_or(0)
            .max(0) as u64;
        if self.min_remaining_seconds >= shortest {
            return Err(format!(
                "`min-remaining-seconds` ({}) must be less than the shortest session ({shortest} s), or every call would ask STS",
                self.min_remaining_seconds
            ));
        }
        if !(1..=12).contains(&self.retry_max_attempts) {
            return Err("`retry-max-attempts` must be 1 to 12".into());
        }
        Ok(())
    }
}

impl DescribedPool {
    /// The pool id, role and endpoint checked; an endpoint never holds credentials.
    fn resolve(&self) -> Result<ResolvedSource, String> {
        let pool = crate::aws_names::IdentityPoolId::parse(&self.pool_id)
            .map_err(|p| format!("`identity-pool.pool-id` {p}"))?;
        let role = self
            .role_arn
            .as_deref()
            .map(|r| RoleArn::parse(r).map_err(|p| format!("`identity-pool.role-arn` {p}")))
            .transpose()?;
        let endpoint = self
            .endpoint
            .as_deref()
            .map(|e| {
                let url = url::Url::parse(e)
                    .map_err(|e| format!("`identity-pool.endpoint` is not a URL ({e})"))?;
                if !matches!(url.scheme(), "https" | "http") || has_userinfo(&url) {
                    return Err(
                        "`identity-pool.endpoint` must be an http(s) URL without credentials"
                            .to_string(),
                    );
                }
                Ok(url)
            })
            .transpose()?;
        Ok(ResolvedSource::IdentityPool(
            PoolLogin { pool, endpoint },
            role,
        ))
    }
}

/// What a description starts from: a web identity role, or a pool's login.
#[derive(Clone, Copy)]
pub enum Start<'a> {
    WebIdentity(&'a RoleArn, &'a SessionOptions),
    IdentityPool(&'a PoolLogin, Option<&'a RoleArn>),
}

impl Start<'_> {
    fn described(self) -> (Option<WebIdentityRole>, Option<DescribedPool>) {
        match self {
            Start::WebIdentity(role, session) => (
                Some(WebIdentityRole {
                    role_arn: role.to_string(),
                    session_name: session.name.to_string(),
                    duration_seconds: session.duration_seconds,
                    inline_policy: session.inline_policy.clone(),
                    managed_policies: session.managed_policies.clone(),
                }),
                None,
            ),
            Start::IdentityPool(login, role) => (
                None,
                Some(DescribedPool {
                    pool_id: login.pool.to_string(),
                    role_arn: role.map(ToString::to_string),
                    endpoint: login.endpoint.as_ref().map(|u| u.to_string()),
                }),
            ),
        }
    }
}

impl ChainedRole {
    /// This hop checked and parsed; `name` says where it is (`chain[0]`).
    fn resolve(&self, name: &str) -> Result<RoleHop, String> {
        let (role_arn, session) = role(
            name,
            &self.role_arn,
            &self.session_name,
            self.duration_seconds,
            self.inline_policy.as_deref(),
            &self.managed_policies,
        )?;
        if let Some(id) = &self.external_id {
            printable(&format!("{name}.external-id"), id, 1224)?;
        }
        if self.tags.len() > crate::tags::MAX_TAGS {
            return Err(format!(
                "`{name}.tags` has more than {} tags",
                crate::tags::MAX_TAGS
            ));
        }
        for t in &self.tags {
            printable(&format!("{name}.tags key"), &t.key, 128)?;
            if t.value.len() > 256 || t.value.chars().any(char::is_control) {
                return Err(format!(
                    "`{name}.tags` value of {:?} is not 0 to 256 printable characters",
                    t.key
                ));
            }
        }
        for k in &self.transitive_tag_keys {
            printable(&format!("{name}.transitive-tag-keys"), k, 128)?;
        }
        Ok(RoleHop {
            target: RoleTarget::Arn(role_arn),
            session,
            external_id: self.external_id.clone(),
            tags: (!self.tags.is_empty()).then(|| {
                self.tags
                    .iter()
                    .map(|t| Tag {
                        key: t.key.clone(),
                        value: t.value.clone(),
                        optional: t.optional,
                    })
                    .collect()
            }),
            transitive_tag_keys: self.transitive_tag_keys.clone(),
        })
    }
}

/// `roles` with `refresh-credentials`: each profile's description, its
/// chain being its root's web identity and every `via` hop down to it.
/// `None` unless every root is a web identity from the runner's token request.
pub fn of_profiles(
    region: &Region,
    network: &Network,
    profiles: &ProfilesPlan,
) -> Option<Vec<(ProfileName, Description)>> {
    let Roots::WebIdentity(groups) = &profiles.roots else {
        return None;
    };
    let mut out = Vec::new();
    for group in groups {
        let TokenSource::Request { audience, .. } = &group.token else {
            return None;
        };
        for root in &group.roles {
            let start = match &root.identity_pool {
                Some(login) => Start::IdentityPool(login, Some(&root.role)),
                None => Start::WebIdentity(&root.role, &root.session),
            };
            let describe = |hops: &[RoleHop]| {
                Description::from_plan(region, network, start, audience.as_str(), hops)
            };
            out.push((root.profile.name.clone(), describe(&[])?));
            describe_chained(&root.chained, &mut Vec::new(), &describe, &mut out)?;
        }
    }
    Some(out)
}

/// The profiles chained under one, each with the hops that lead to it.
fn describe_chained<'a>(
    chained: &'a [RoleProfile],
    path: &mut Vec<&'a RoleProfile>,
    describe: &dyn Fn(&[RoleHop]) -> Option<Description>,
    out: &mut Vec<(ProfileName, Description)>,
) -> Option<()> {
    for profile in chained {
        path.push(profile);
        let hops: Vec<RoleHop> = path.iter().map(|p| p.hop.clone()).collect();
        out.push((profile.profile.name.clone(), describe(&hops)?));
        describe_chained(&profile.chained, path, describe, out)?;
        path.pop();
    }
    Some(())
}

/// [`DEFAULT_MIN_REMAINING_SECONDS`], or for sessions too short for it (the
/// 900 s minimum) 4 minutes less than the printed lifetime (the session less
/// [`super::cache::EXPIRY_MARGIN`]): the cache counts from the printed
/// `Expiration`, so a fresh answer is always served at least once.
fn min_remaining(shortest_session: i32) -> u64 {
    let shortest = u64::try_from(shortest_session).unwrap_or(900).max(900);
    let printed = shortest - super::cache::EXPIRY_MARGIN.as_secs();
    DEFAULT_MIN_REMAINING_SECONDS.min(printed - 240)
}

fn printable(name: &str, v: &str, max: usize) -> Result<(), String> {
    if v.is_empty() || v.len() > max || v.chars().any(|c| c.is_control()) {
        Err(format!("`{name}` must be 1 to {max} printable characters"))
    } else {
        Ok(())
    }
}

fn role(
    name: &str,
    arn: &str,
    session: &str,
    duration: i32,
    inline_policy: Option<&str>,
    managed_policies: &[String],
) -> Result<(RoleArn, SessionOptions), String> {
    let arn = RoleArn::parse(arn).map_err(|p| format!("`{name}.role-arn` {p}"))?;
    let session_name =
        SessionName::parse(session).map_err(|p| format!("`{name}.session-name` {p}"))?;
    if !(900..=43200).contains(&duration) {
        return Err(format!(
            "`{name}.duration-seconds` is {duration}; STS accepts 900 to 43200"
        ));
    }
    if let Some(policy) = inline_policy {
        printable(&format!("{name}.inline-policy"), policy, 2048 * 4)?;
    }
    for p in managed_policies {
        printable(&format!("{name}.managed-policies"), p, 2048)?;
    }
    Ok((
        arn,
        SessionOptions {
            name: session_name,
            duration_seconds: duration,
            inline_policy: inline_policy.map(str::to_owned),
            managed_policies: managed_policies.to_vec(),
        },
    ))
}

/// The STS endpoint and proxies as the description may hold them. A proxy
/// with a user name or password stays out of the file (a proxy token is often
/// given as the user name): later steps that need it have it in their own
/// environment (the helper prefers that). STS reads no user info (requests
/// are signed), so the endpoint's is dropped.
fn without_secrets(network: &Network) -> (Option<String>, ProxySettings) {
    let no_secret = |u: &Option<url::Url>| {
        u.as_ref()
            .filter(|u| !has_userinfo(u))
            .map(|u| u.to_string())
    };
    let sts_endpoint = network.sts_endpoint.as_ref().map(|u| {
        let mut u = u.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    });
    let proxy = ProxySettings {
        https_proxy: no_secret(&network.proxy.https),
        http_proxy: no_secret(&network.proxy.http),
        no_proxy: network.proxy.no_proxy.clone(),
    };
    (sts_endpoint, proxy)
}

/// A URL's user name or password: either may be a secret (a proxy token is
/// often the user name), so neither is ever written to the description.
fn has_userinfo(url: &url::Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Description {
        Description {
            version: VERSION,
            region: "eu-west-1".into(),
            sts_endpoint: None,
            audience: "sts.amazonaws.com".into(),
            web_identity: Some(WebIdentityRole {
                role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
                session_name: "GitHubActions".into(),
                duration_seconds: 3600,
                inline_policy: None,
                managed_policies: vec![],
            }),
            identity_pool: None,
            chain: vec![ChainedRole {
                role_arn: "arn:aws:iam::210987654321:role/target".into(),
                session_name: "chained".into(),
                duration_seconds: 3600,
                external_id: Some("ext".into()),
                inline_policy: None,
                managed_policies: vec![],
                tags: vec![DescribedTag {
                    key: "Repository".into(),
                    value: "o/r".into(),
                    optional: false,
                }],
                transitive_tag_keys: vec![],
            }],
            proxy: ProxySettings::default(),
            cache_file: DEFAULT_CACHE_FILE.into(),
            min_remaining_seconds: DEFAULT_MIN_REMAINING_SECONDS,
            retry_max_attempts: 3,
        }
    }

    /// A network whose HTTPS proxy carries a user name and password.
    fn network_behind_a_proxy_with_a_password() -> Network {
        use crate::plan::{Proxy, RetryPolicy};
        Network {
            sts_endpoint: None,
            proxy: Proxy {
                https: Some(url::Url::parse("http://user:pw@proxy:3128").unwrap()),
                http: None,
                no_proxy: Some("localhost".into()),
            },
            retry: RetryPolicy { max_attempts: 3 },
            action_timeout: None,
            container_loopback: None,
            extra_cas: Vec::new(),
            endpoint_variant: Default::default(),
        }
    }

    #[test]
    fn a_plan_chain_is_described_with_bare_names_completed_from_the_signer() {
        use crate::aws_names::RoleName;
        use crate::plan::{Proxy, TokenSource};
        let session = |name: &str, duration| SessionOptions {
            name: SessionName::parse(name).unwrap(),
            duration_seconds: duration,
            inline_policy: None,
            managed_policies: vec![],
        };
        let web = crate::plan::WebIdentity {
            token: TokenSource::File("/t.jwt".into()),
            role: RoleArn::parse("arn:aws-cn:iam::123456789012:role/deploy").unwrap(),
            session: session("GitHubActions", 3600),
        };
        let hop = RoleHop {
            target: RoleTarget::Name(RoleName::parse("target").unwrap()),
            session: session("chained", 900),
            external_id: Some("ext".into()),
            tags: Some(vec![Tag {
                key: "Repository".into(),
                value: "o/r".into(),
                optional: false,
            }]),
            transitive_tag_keys: vec!["Repository".into()],
        };
        let network = network_behind_a_proxy_with_a_password();
        let region = Region::parse("cn-north-1").unwrap();
        let d = Description::from_plan(
            &region,
            &network,
            Start::WebIdentity(&web.role, &web.session),
            "sts.amazonaws.com",
            &[hop],
        )
        .unwrap();
        let resolved = d.resolve().unwrap();
        assert_eq!(
            resolved.chain[0].target,
            RoleTarget::Arn(RoleArn::parse("arn:aws-cn:iam::123456789012:role/target").unwrap())
        );
        assert_eq!(resolved.chain[0].tags.as_ref().unwrap().len(), 1);
        // The shortest session (900 s) sets how long a cached answer is served.
        assert_eq!(d.min_remaining_seconds, 360);
        // A proxy password never reaches the file.
        assert_eq!(d.proxy.https_proxy, None);
        assert!(!d.to_json().contains("pw"));
        // Nor a proxy token given as the user name, nor an endpoint's user info.
        let network = Network {
            sts_endpoint: Some(url::Url::parse("https://endpoint-token@sts.example/").unwrap()),
            proxy: Proxy {
                https: Some(url::Url::parse("http://proxy-token-as-user@proxy:3128").unwrap()),
                http: Some(url::Url::parse("http://proxy-token-as-user@proxy:3128").unwrap()),
                no_proxy: None,
            },
            ..network
        };
        let d = Description::from_plan(
            &region,
            &network,
            Start::WebIdentity(&web.role, &web.session),
            "sts.amazonaws.com",
            &[],
        )
        .unwrap();
        let text = d.to_json();
        assert!(!text.contains("token"), "{text}");
        assert_eq!(d.sts_endpoint.as_deref(), Some("https://sts.example/"));
        d.validate().unwrap();
    }

    /// `roles`: dev (OIDC), audit via dev, deep via audit.
    fn three_deep(region: &Region) -> crate::plan::ProfilesPlan {
        use crate::aws_names::ProfileName;
        use crate::plan::{
            NamedProfiles, ProfileCredentials, ProfileDir, ProfileTarget, ProfilesPlan,
            RoleProfile, Roots, TokenGroup, WebProfile,
        };
        use crate::secret::Secret;
        let session = |name: &str| SessionOptions {
            name: SessionName::parse(name).unwrap(),
            duration_seconds: 900,
            inline_policy: None,
            managed_policies: vec![],
        };
        let target = |name: &str| ProfileTarget {
            name: ProfileName::parse(name).unwrap(),
            region: region.clone(),
            line: 1,
        };
        let hop = |arn: &str| RoleHop {
            target: RoleTarget::Arn(RoleArn::parse(arn).unwrap()),
            session: session("chained"),
            external_id: None,
            tags: None,
            transitive_tag_keys: vec![],
        };
        let deep = RoleProfile {
            profile: target("deep"),
            hop: hop("arn:aws:iam::333333333333:role/deep"),
            chained: vec![],
        };
        let audit = RoleProfile {
            profile: target("audit"),
            hop: hop("arn:aws:iam::222222222222:role/audit"),
            chained: vec![deep],
        };
        let roots = Roots::WebIdentity(vec![TokenGroup {
            token: TokenSource::Request {
                url: url::Url::parse("https://t.example/x?audience=a").unwrap(),
                bearer: Secret::new("bearer"),
                audience: Audience::parse("a").unwrap(),
            },
            roles: vec![WebProfile {
                identity_pool: None,
                profile: target("dev"),
                role: RoleArn::parse("arn:aws:iam::111111111111:role/dev").unwrap(),
                session: session("GitHubActions"),
                chained: vec![audit],
            }],
        }]);
        ProfilesPlan {
            roots,
            files: NamedProfiles {
                dir: ProfileDir {
                    local: "/rt".into(),
                    for_later_steps: "/rt".into(),
                },
                default: None,
                overwrite: false,
            },
            content: ProfileCredentials::Refreshing,
        }
    }

    #[test]
    fn each_profile_of_roles_replays_its_own_chain() {
        use crate::plan::{Proxy, RetryPolicy};
        let region = Region::parse("eu-west-1").unwrap();
        let plan = three_deep(&region);
        let network = Network {
            sts_endpoint: None,
            proxy: Proxy::default(),
            retry: RetryPolicy { max_attempts: 3 },
            action_timeout: None,
            container_loopback: None,
            extra_cas: Vec::new(),
            endpoint_variant: Default::default(),
        };
        let described = of_profiles(&region, &network, &plan).unwrap();
        let chains: Vec<(&str, Vec<&str>)> = described
            .iter()
            .map(|(name, d)| {
                d.validate().unwrap();
                assert_eq!(
                    d.web_identity.as_ref().unwrap().role_arn,
                    "arn:aws:iam::111111111111:role/dev"
                );
                assert_eq!(d.audience, "a");
                (
                    name.as_str(),
                    d.chain.iter().map(|h| h.role_arn.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            chains,
            vec![
                ("dev", vec![]),
                ("audit", vec!["arn:aws:iam::222222222222:role/audit"]),
                (
                    "deep",
                    vec![
                        "arn:aws:iam::222222222222:role/audit",
                        "arn:aws:iam::333333333333:role/deep"
                    ]
                ),
            ]
        );
    }

    #[test]
    fn a_pool_is_described_without_a_web_identity_and_checked() {
        let mut d = sample();
        d.web_identity = None;
        d.identity_pool = Some(DescribedPool {
            pool_id: "eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into(),
            role_arn: None,
            endpoint: Some("http://127.0.0.1:4566/".into()),
        });
        let back: Description = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(back, d);
        assert!(matches!(
            d.resolve().unwrap().source,
            ResolvedSource::IdentityPool(_, None)
        ));
        let refused = |change: &dyn Fn(&mut Description), says: &str| {
            let mut bad = d.clone();
            change(&mut bad);
            let problem = bad.validate().unwrap_err();
            assert!(problem.contains(says), "{problem}");
        };
        refused(
            &|b| b.identity_pool.as_mut().unwrap().endpoint = Some("http://u:p@h/".into()),
            "without credentials",
        );
        refused(
            &|b| b.identity_pool.as_mut().unwrap().pool_id = "eu-west-1".into(),
            "identity-pool.pool-id",
        );
        refused(&|b| b.web_identity = sample().web_identity, "exactly one");
        refused(&|b| b.identity_pool = None, "exactly one");
    }

    #[test]
    fn round_trips_through_json_and_validates() {
        let d = sample();
        d.validate().unwrap();
        let text = d.to_json();
        assert!(text.contains("\"web-identity\""), "{text}");
        let back: Description = serde_json::from_str(&text).unwrap();
        assert_eq!(back, d);
        assert_eq!(
            d.cache_path(Path::new("/__w/_temp/x/refresh.json")),
            PathBuf::from("/__w/_temp/x/refresh-cache.json")
        );
    }

    #[test]
    fn rejects_what_would_fail_later_or_hold_secrets() {
        type Change = Box<dyn Fn(&mut Description)>;
        let bad: Vec<(&str, Change)> = vec![
            ("version", Box::new(|d| d.version = 2)),
            ("region", Box::new(|d| d.region = "eu west".into())),
            ("cache-file", Box::new(|d| d.cache_file = "../x".into())),
            ("cache-file", Box::new(|d| d.cache_file = ".hidden".into())),
            (
                "password",
                Box::new(|d| d.proxy.https_proxy = Some("http://u:p@proxy:3128".into())),
            ),
            (
                "user name",
                Box::new(|d| d.proxy.http_proxy = Some("http://token@proxy:3128".into())),
            ),
            (
                "min-remaining",
                Box::new(|d| d.min_remaining_seconds = 3600),
            ),
            (
                "session-name",
                Box::new(|d| d.web_identity.as_mut().unwrap().session_name = "a b".into()),
            ),
            ("duration", Box::new(|d| d.chain[0].duration_seconds = 60)),
            (
                "role-arn",
                Box::new(|d| d.web_identity.as_mut().unwrap().role_arn = "deploy".into()),
            ),
            (
                "sts-endpoint",
                Box::new(|d| d.sts_endpoint = Some("ftp://x".into())),
            ),
        ];
        for (what, change) in bad {
            let mut d = sample();
            change(&mut d);
            assert!(d.validate().is_err(), "{what} accepted");
        }
        let unknown = sample().to_json().replacen('{', "{\"secret\": \"x\",", 1);
        assert!(serde_json::from_str::<Description>(&unknown).is_err());
    }
}
