//! Who is calling: a local operator token (hashed table), or the claims API Gateway's JWT
//! authorizer (Cognito) put in the Lambda request context. Roles from Cognito groups.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::request::RequestContext;

use super::error::Failure;
use crate::domain::staff::{Role, Staff, TokenTable};

#[derive(Clone)]
pub enum Authenticator {
    /// The local server: `Authorization: Bearer <token>`, checked against hashed tokens.
    Tokens(Arc<TokenTable>),
    /// Lambda behind an HTTP API with a JWT authorizer: API Gateway has verified the token
    /// (signature, issuer, audience, expiry) before we run; we read its claims.
    ApiGatewayJwt,
}

impl Authenticator {
    fn staff(&self, request: &Request<Body>) -> Result<Staff, Failure> {
        match self {
            Self::Tokens(table) => {
                let token = request
                    .headers()
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or(Failure::Unauthorized)?;
                table.authenticate(token).ok_or(Failure::Unauthorized)
            }
            Self::ApiGatewayJwt => {
                let claims = match request.extensions().get::<RequestContext>() {
                    Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|jwt| &jwt.claims),
                    _ => None,
                }
                .ok_or(Failure::Unauthorized)?;
                // Cognito pools that sign in by e-mail give each user a UUID as `cognito:username`: the address
                // is the name staff know each other by.
                let name = ["email", "cognito:username", "username", "sub"]
                    .iter()
                    .find_map(|k| claims.get(*k))
                    .cloned()
                    .ok_or(Failure::Unauthorized)?;
                let groups = claims.get("cognito:groups").map(String::as_str).unwrap_or_default();
                let role = role_from_groups(groups)
                    .ok_or_else(|| Failure::Forbidden("the user is in neither the `operator` nor the `admin` group".into()))?;
                Ok(Staff { name, role })
            }
        }
    }
}

/// API Gateway flattens the `cognito:groups` array to `[admin operator]` (group names hold no
/// whitespace, but may hold brackets and commas); accept a JSON array too. Only a group named
/// exactly `admin` or `operator` grants a role.
pub fn role_from_groups(groups: &str) -> Option<Role> {
    let groups = groups.trim();
    let names: Vec<String> = serde_json::from_str(groups).unwrap_or_else(|_| {
        let inner = groups.strip_prefix('[').and_then(|g| g.strip_suffix(']')).unwrap_or(groups);
        inner.split_whitespace().map(str::to_owned).collect()
    });
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    if names.contains(&"admin") {
        Some(Role::Admin)
    } else if names.contains(&"operator") {
        Some(Role::Operator)
    } else {
        None
    }
}

/// Every operator route passes here: no credential, no entry.
pub async fn authenticate(State(auth): State<Authenticator>, mut request: Request<Body>, next: Next) -> Result<Response, Failure> {
    let staff = auth.staff(&request)?;
    request.extensions_mut().insert(staff);
    Ok(next.run(request).await)
}

/// Routes that change the rules need an admin.
pub async fn require_admin(request: Request<Body>, next: Next) -> Result<Response, Failure> {
    let staff = request.extensions().get::<Staff>().ok_or(Failure::Unauthorized)?;
    if !staff.role.allows(Role::Admin) {
        return Err(Failure::Forbidden(format!("{} is an operator; this needs the admin role", staff.name)));
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_as_api_gateway_renders_them() {
        assert_eq!(role_from_groups("[admin operator]"), Some(Role::Admin));
        assert_eq!(role_from_groups("[operator]"), Some(Role::Operator));
        assert_eq!(role_from_groups("[\"operator\",\"x\"]"), Some(Role::Operator));
        assert_eq!(role_from_groups("[staff]"), None);
        assert_eq!(role_from_groups(""), None);
    }
}
