//! An Amazon Cognito identity pool as a credential source, so that the
//! token's verified claims become the session's principal tags ("attributes
//! for access control"): one role for every repository, whose permissions
//! follow `${aws:PrincipalTag/repository}`.
//!
//! Which flow: the enhanced (simplified) flow, `GetId` then
//! `GetCredentialsForIdentity`. In it Cognito itself assumes the role as the
//! service principal `cognito-identity.amazonaws.com` and applies the
//! pool's claim-to-tag mapping; that is why AWS's ABAC guide asks the role's
//! trust policy to grant that principal `sts:TagSession` next to
//! `sts:AssumeRoleWithWebIdentity`. The basic (classic) flow (`GetId`,
//! `GetOpenIdToken`, then our own `AssumeRoleWithWebIdentity` with Cognito's
//! token) must be switched on per pool (`AllowClassicFlow`) and does not use
//! the pool's role choice (`CustomRoleArn`, role mappings).
//!   - https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html
//!   - https://docs.aws.amazon.com/cognito/latest/developerguide/using-afac-with-cognito-identity-pools.html
//!   - https://docs.aws.amazon.com/cognito/latest/developerguide/using-attributes-for-access-control-policy-example.html
//!
//! `login` names the provider in the pool's `Logins` map, `exchange` makes the
//! two calls with the STS client's HTTP client, proxy and retry policy,
//! `failure` is what a refusal carries and `explain` says what to change.

pub mod exchange;
pub mod explain;
pub mod failure;
pub mod login;
