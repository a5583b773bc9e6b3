//! The console's sign-in settings (`CONSOLE_AUTH`, `COGNITO_*`, `CONSOLE_*`): what the console's
//! `config.json` says (`crate::http::console::ConsoleConfig`). On AWS template.yaml sets them
//! from the stack's Cognito domain, app client and URL.

use super::ConfigError;
use crate::http::console::ConsoleConfig;

pub const CONSOLE_AUTH: &str = "CONSOLE_AUTH";
pub const COGNITO_DOMAIN: &str = "COGNITO_DOMAIN";
pub const COGNITO_CLIENT_ID: &str = "COGNITO_CLIENT_ID";
pub const CONSOLE_REDIRECT_URI: &str = "CONSOLE_REDIRECT_URI";
/// Optional: where Cognito sends the browser after sign-out; default the redirect URI.
pub const CONSOLE_LOGOUT_URI: &str = "CONSOLE_LOGOUT_URI";
/// Optional: the API's base URL when it is not on the console's origin.
pub const CONSOLE_API_BASE: &str = "CONSOLE_API_BASE";

/// The console's sign-in settings from the environment (see [`from_lookup`]).
pub fn from_env() -> Result<ConsoleConfig, ConfigError> {
    from_lookup(super::process_env)
}

/// `CONSOLE_AUTH` = `token` (or unset): the local operator-token sign-in. `cognito`: Cognito's
/// managed login, which needs `COGNITO_DOMAIN` (`https://<prefix>.auth.<region>.amazoncognito.com`),
/// `COGNITO_CLIENT_ID` and `CONSOLE_REDIRECT_URI` (the console's URL, registered as the app
/// client's callback URL); `CONSOLE_LOGOUT_URI` and `CONSOLE_API_BASE` are optional.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ConsoleConfig, ConfigError> {
    let value = |key: &str| get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match value(CONSOLE_AUTH).as_deref() {
        None | Some("token") => Ok(ConsoleConfig::Token),
        Some("cognito") => {
            let required = |key: &'static str| value(key).ok_or(ConfigError::Missing(key));
            let cognito_domain = url(COGNITO_DOMAIN, &required(COGNITO_DOMAIN)?)?;
            let parsed = reqwest::Url::parse(&cognito_domain).expect("checked by url()");
            if parsed.path() != "/" || parsed.query().is_some() {
                return Err(invalid(
                    COGNITO_DOMAIN,
                    format!("{cognito_domain:?} must be the domain only, like https://<prefix>.auth.<region>.amazoncognito.com"),
                ));
            }
            let client_id = required(COGNITO_CLIENT_ID)?;
            if !client_id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid(COGNITO_CLIENT_ID, format!("{client_id:?} is not an app client id (letters and digits)")));
            }
            let redirect_uri = url(CONSOLE_REDIRECT_URI, &required(CONSOLE_REDIRECT_URI)?)?;
            let logout_uri = match value(CONSOLE_LOGOUT_URI) {
                Some(v) => url(CONSOLE_LOGOUT_URI, &v)?,
                None => redirect_uri.clone(),
            };
            let api_base = value(CONSOLE_API_BASE).map(|v| url(CONSOLE_API_BASE, &v)).transpose()?;
            Ok(ConsoleConfig::Cognito {
                cognito_domain: cognito_domain.trim_end_matches('/').to_owned(),
                client_id,
                redirect_uri,
                logout_uri,
                api_base,
            })
        }
        Some(other) => Err(invalid(CONSOLE_AUTH, format!("{other:?} is neither `cognito` nor `token`"))),
    }
}

fn invalid(key: &'static str, problem: String) -> ConfigError {
    ConfigError::Invalid { key, problem }
}

/// An https URL; plain http only on this machine (the test stand-ins listen on 127.0.0.1).
fn url(key: &'static str, raw: &str) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(raw).map_err(|e| invalid(key, format!("{raw:?} is not a URL: {e}")))?;
    let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost"));
    match parsed.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(invalid(key, format!("{raw:?} must be an https:// URL"))),
    }
    if parsed.fragment().is_some() {
        return Err(invalid(key, format!("{raw:?} must not have a #fragment")));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    const AWS: &[(&str, &str)] = &[
        ("CONSOLE_AUTH", "cognito"),
        ("COGNITO_DOMAIN", "https://line-oa-1.auth.ap-northeast-1.amazoncognito.com"),
        ("COGNITO_CLIENT_ID", "4example5client6id"),
        ("CONSOLE_REDIRECT_URI", "https://abc123.execute-api.ap-northeast-1.amazonaws.com/console/"),
    ];

    fn with(overrides: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = AWS.iter().filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k)).copied().collect();
        pairs.extend(overrides.iter().filter(|(_, v)| !v.is_empty()));
        pairs
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        from_lookup(lookup(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn unset_is_the_local_token_sign_in() {
        assert_eq!(from_lookup(lookup(&[])).unwrap(), ConsoleConfig::Token);
        assert_eq!(from_lookup(lookup(&[("CONSOLE_AUTH", " token ")])).unwrap(), ConsoleConfig::Token);
    }

    #[test]
    fn cognito_as_template_yaml_sets_it() {
        let config = from_lookup(lookup(AWS)).unwrap();
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            serde_json::json!({
                "auth": "cognito",
                "cognito_domain": "https://line-oa-1.auth.ap-northeast-1.amazoncognito.com",
                "client_id": "4example5client6id",
                "redirect_uri": "https://abc123.execute-api.ap-northeast-1.amazonaws.com/console/",
                "logout_uri": "https://abc123.execute-api.ap-northeast-1.amazonaws.com/console/",
            })
        );
        let trailing = from_lookup(lookup(&with(&[("COGNITO_DOMAIN", "https://x.auth.ap-northeast-1.amazoncognito.com/")]))).unwrap();
        assert!(
            matches!(trailing, ConsoleConfig::Cognito { cognito_domain, .. } if cognito_domain == "https://x.auth.ap-northeast-1.amazoncognito.com")
        );
    }

    #[test]
    fn each_missing_or_bad_value_is_named() {
        for key in ["COGNITO_DOMAIN", "COGNITO_CLIENT_ID", "CONSOLE_REDIRECT_URI"] {
            let pairs: Vec<_> = AWS.iter().filter(|(k, _)| *k != key).copied().collect();
            assert_eq!(err(&pairs), format!("environment variable {key} is required"));
        }
        assert!(err(&[("CONSOLE_AUTH", "sso")]).contains("CONSOLE_AUTH: \"sso\" is neither"));
        assert!(err(&with(&[("COGNITO_DOMAIN", "line-oa-1.auth.ap-northeast-1.amazoncognito.com")])).contains("COGNITO_DOMAIN"));
        assert!(err(&with(&[("COGNITO_DOMAIN", "http://line-oa-1.auth.ap-northeast-1.amazoncognito.com")])).contains("https://"));
        assert!(err(&with(&[("COGNITO_DOMAIN", "https://x.auth.ap-northeast-1.amazoncognito.com/oauth2")])).contains("domain only"));
        assert!(err(&with(&[("COGNITO_CLIENT_ID", "a b")])).contains("COGNITO_CLIENT_ID"));
        assert!(err(&with(&[("CONSOLE_REDIRECT_URI", "https://x.example/console/#/c")])).contains("CONSOLE_REDIRECT_URI"));
        assert!(err(&with(&[("CONSOLE_LOGOUT_URI", "ftp://x.example/")])).contains("CONSOLE_LOGOUT_URI"));
    }

    #[test]
    fn plain_http_only_on_this_machine() {
        let local = with(&[("COGNITO_DOMAIN", "http://127.0.0.1:4000"), ("CONSOLE_REDIRECT_URI", "http://127.0.0.1:5000/console/")]);
        assert!(from_lookup(lookup(&local)).is_ok());
    }
}
