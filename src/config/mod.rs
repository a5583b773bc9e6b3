//! Process configuration from the environment, read once in `main`: the one place the
//! environment is read ([`process_env`]); everything else takes a lookup function, so tests never
//! touch the process environment. Errors name the key; secrets stay wrapped.
//!
//! Each Lambda function is given only the LINE credential it uses (template.yaml): the webhook
//! the channel secret, the functions that call LINE the access token ([`Credentials`]). On Lambda
//! those come from Secrets Manager (`lambda::init::Environment`); locally from the environment.
//! Beside this: the staff notices' settings ([`notify`]), the console's sign-in ([`console`]) and
//! what only the Lambda functions read ([`lambda`]).

use std::path::PathBuf;

use secrecy::SecretString;

use crate::domain::secret::Secret;
use crate::domain::signature::SignatureVerifier;
use crate::domain::staff::TokenTable;
use crate::settings::{Settings, SettingsError};
use crate::store::embedded::StoreMemory;

pub mod console;
pub mod lambda;
pub mod notify;

pub const DEFAULT_LINE_API_BASE_URL: &str = "https://api.line.me";
/// LINE serves message content (images, video, audio, files) from its own host.
pub const DEFAULT_LINE_DATA_API_BASE_URL: &str = "https://api-data.line.me";
pub const DEFAULT_RETENTION_DAYS: u32 = 365;
pub const DEFAULT_PORT: u16 = 3000;
/// Set by Lambda itself in every function's environment: how a process knows it runs there.
pub const LAMBDA_FUNCTION_NAME_KEY: &str = "AWS_LAMBDA_FUNCTION_NAME";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {key}: {problem}")]
    Invalid { key: &'static str, problem: String },
    /// A secret named by `key` (a Secrets Manager ARN) could not be read or is malformed.
    #[error("environment variable {key}: the secret it names {problem}")]
    Secret { key: &'static str, problem: String },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// Which LINE credential a process is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The local server: the channel secret (required) and the access token if set (without it
    /// replies are only logged).
    Local,
    /// The webhook function: verifies signatures with the channel secret, never calls LINE, so
    /// it holds no access token (one in its environment is ignored).
    ChannelSecret,
    /// Functions that call LINE (worker, operator, archiver): the access token, required. They
    /// take no webhooks and hold no channel secret: their verifier matches no signature.
    AccessToken,
}

/// The process environment as a lookup function: the only read of it, besides [`data_dir`].
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// `key`, which must be set (it may be empty, as `std::env::var` has it).
pub fn required(get: impl Fn(&str) -> Option<String>, key: &'static str) -> Result<String, ConfigError> {
    get(key).ok_or(ConfigError::Missing(key))
}

/// What every entrypoint needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub verifier: SignatureVerifier,
    pub access_token: Option<SecretString>,
    pub line_api_base_url: String,
    /// `LINE_DATA_API_BASE_URL`: where message content is downloaded from.
    pub line_data_api_base_url: String,
    pub retention_days: u32,
    /// `REPLAY_WINDOW_DAYS`: events older than this (by their own time) are acknowledged and
    /// ignored, since their log items may be gone (see `domain::replay`). At most the retention.
    pub replay_window_days: u32,
    pub settings: Settings,
    /// The local server's operator tokens (hashed); empty = the operator API refuses everyone.
    pub operator_tokens: std::sync::Arc<TokenTable>,
    /// `LINE_BOT_USER_ID`: this channel's bot user id (the `destination` of its webhooks, shown
    /// in the LINE Developers console as "Your user ID"); a body for another bot is refused.
    pub bot_user_id: Option<String>,
    /// `STORE_CACHE_MIB`, `STORE_WRITE_BUFFER_MIB`: the local store's memory (see
    /// [`StoreMemory`]); the Lambda functions have no local store and ignore them.
    pub store_memory: StoreMemory,
}

/// The local server's configuration; reads from a lookup function so tests never touch the
/// process environment.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    from_lookup_for(get, Credentials::Local)
}

/// A process's configuration with only the credential `credentials` says it holds.
pub fn from_lookup_for(get: impl Fn(&str) -> Option<String>, credentials: Credentials) -> Result<Config, ConfigError> {
    let non_empty = |key: &str| get(key).filter(|v| !v.trim().is_empty());
    let verifier = match credentials {
        Credentials::Local | Credentials::ChannelSecret => {
            let secret = non_empty("LINE_CHANNEL_SECRET").ok_or(ConfigError::Missing("LINE_CHANNEL_SECRET"))?;
            let current = Secret::new(secret).map_err(|e| ConfigError::Invalid { key: "LINE_CHANNEL_SECRET", problem: e.to_string() })?;
            let next = non_empty("LINE_CHANNEL_SECRET_NEXT")
                .map(Secret::new)
                .transpose()
                .map_err(|e| ConfigError::Invalid { key: "LINE_CHANNEL_SECRET_NEXT", problem: e.to_string() })?;
            SignatureVerifier::new(current, next)
        }
        Credentials::AccessToken => unheld_verifier(),
    };
    let access_token = match credentials {
        Credentials::Local => non_empty("LINE_CHANNEL_ACCESS_TOKEN").map(SecretString::from),
        Credentials::ChannelSecret => None,
        Credentials::AccessToken => {
            Some(SecretString::from(non_empty("LINE_CHANNEL_ACCESS_TOKEN").ok_or(ConfigError::Missing("LINE_CHANNEL_ACCESS_TOKEN"))?))
        }
    };
    let on_lambda = runs_on_lambda(&get);
    let line_api_base_url = non_empty("LINE_API_BASE_URL").unwrap_or_else(|| DEFAULT_LINE_API_BASE_URL.to_owned());
    let line_api_base_url = checked_url("LINE_API_BASE_URL", &line_api_base_url, on_lambda)?;
    let line_data_api_base_url = non_empty("LINE_DATA_API_BASE_URL").unwrap_or_else(|| DEFAULT_LINE_DATA_API_BASE_URL.to_owned());
    let line_data_api_base_url = checked_url("LINE_DATA_API_BASE_URL", &line_data_api_base_url, on_lambda)?;
    let retention_days = retention_days_from_lookup(&get)?;
    let replay_window_days = replay_window_days_from_lookup(&get, retention_days)?;
    let settings = settings_from_lookup(&get)?;
    let operator_tokens = TokenTable::parse(&get("OPERATOR_TOKENS").unwrap_or_default())
        .map_err(|e| ConfigError::Invalid { key: "OPERATOR_TOKENS", problem: e.to_string() })?;
    Ok(Config {
        verifier,
        access_token,
        line_api_base_url: line_api_base_url.trim_end_matches('/').to_owned(),
        line_data_api_base_url: line_data_api_base_url.trim_end_matches('/').to_owned(),
        retention_days,
        replay_window_days,
        settings,
        operator_tokens: std::sync::Arc::new(operator_tokens),
        bot_user_id: non_empty("LINE_BOT_USER_ID").map(|v| v.trim().to_owned()),
        store_memory: store_memory_from_lookup(&get)?,
    })
}

/// `STORE_CACHE_MIB` and `STORE_WRITE_BUFFER_MIB`, whole MiB from 1 to 65,536 each; the
/// defaults where unset.
pub fn store_memory_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<StoreMemory, ConfigError> {
    let mib = |key: &'static str, default: u64| -> Result<u64, ConfigError> {
        Ok(whole_number_in(&get, key, 1..=65_536, "MiB")?.map_or(default, |m: u64| m << 20))
    };
    let default = StoreMemory::default();
    Ok(StoreMemory {
        cache_bytes: mib("STORE_CACHE_MIB", default.cache_bytes)?,
        write_buffer_bytes: mib("STORE_WRITE_BUFFER_MIB", default.write_buffer_bytes)?,
    })
}

/// `key` as a whole number of `unit` within `range`; None where unset or blank, anything else
/// refused naming the key and the range: the one reading of every numeric setting.
pub(crate) fn whole_number_in<T>(
    get: impl Fn(&str) -> Option<String>,
    key: &'static str,
    range: std::ops::RangeInclusive<T>,
    unit: &str,
) -> Result<Option<T>, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(v) = get(key).filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    match v.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(ConfigError::Invalid {
            key,
            problem: format!("{v:?} is not a whole number of {unit} from {} to {}", range.start(), range.end()),
        }),
    }
}

/// What a command-line run needs to call LINE (media downloads for the archive), when an access
/// token is at hand: no channel secret (it takes no webhooks), LINE's own hosts unless set.
#[derive(Debug, Clone)]
pub struct LineAccess {
    pub access_token: SecretString,
    pub api_base_url: String,
    pub data_api_base_url: String,
}

/// `LINE_CHANNEL_ACCESS_TOKEN` with `LINE_API_BASE_URL` and `LINE_DATA_API_BASE_URL`; None
/// without a token.
pub fn line_access_from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<LineAccess> {
    let non_empty = |key: &str| get(key).filter(|v| !v.trim().is_empty());
    let base = |key: &str, default: &str| non_empty(key).unwrap_or_else(|| default.to_owned());
    Some(LineAccess {
        access_token: SecretString::from(non_empty("LINE_CHANNEL_ACCESS_TOKEN")?),
        api_base_url: base("LINE_API_BASE_URL", DEFAULT_LINE_API_BASE_URL),
        data_api_base_url: base("LINE_DATA_API_BASE_URL", DEFAULT_LINE_DATA_API_BASE_URL),
    })
}

/// `Service` wants a verifier; a function that takes no webhooks gets one keyed by a random
/// 256-bit secret that exists nowhere else, so no signature ever matches.
fn unheld_verifier() -> SignatureVerifier {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    SignatureVerifier::new(Secret::new(hex::encode(bytes)).expect("64 hex digits are not empty"), None)
}

/// Whether the process runs on Lambda (`AWS_LAMBDA_FUNCTION_NAME` is set there by Lambda).
pub fn runs_on_lambda(get: impl Fn(&str) -> Option<String>) -> bool {
    get(LAMBDA_FUNCTION_NAME_KEY).is_some_and(|v| !v.trim().is_empty())
}

/// An http(s) URL the process sends a credential or staff data to. Plain `http://` is for local
/// runs (a stand-in on this machine): on Lambda it is refused, except to the loopback address
/// (`127.0.0.1`, `localhost`, `[::1]`), which never leaves the function's own sandbox.
pub fn checked_url(key: &'static str, value: &str, on_lambda: bool) -> Result<String, ConfigError> {
    let value = value.trim();
    let invalid = |problem: String| ConfigError::Invalid { key, problem };
    let url = reqwest::Url::parse(value).map_err(|e| invalid(format!("{value:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if !on_lambda || is_loopback(&url) => {}
        "http" => return Err(invalid("plain http:// is refused on Lambda (it is for a local stand-in); use https://".into())),
        _ => return Err(invalid("must be an http(s) URL".into())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("{value:?} has no host")));
    }
    Ok(value.to_owned())
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        // An IPv6 host comes in brackets.
        Some(host) => host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The longest retention or replay window, in days: a hundred years, so no typo of a number
/// passes for one.
pub const MAX_DAYS: u32 = 36_500;

/// `RETENTION_DAYS`: how long log items live before their TTL removes them.
pub fn retention_days_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    Ok(whole_number_in(get, "RETENTION_DAYS", 1..=MAX_DAYS, "days")?.unwrap_or(DEFAULT_RETENTION_DAYS))
}

/// `REPLAY_WINDOW_DAYS`: a week unless set, and never longer than the retention (a longer one
/// would accept a replay whose original is no longer in the log to be recognised by).
pub fn replay_window_days_from_lookup(get: impl Fn(&str) -> Option<String>, retention_days: u32) -> Result<u32, ConfigError> {
    const KEY: &str = "REPLAY_WINDOW_DAYS";
    match whole_number_in(get, KEY, 1..=MAX_DAYS, "days")? {
        Some(days) if days > retention_days => Err(ConfigError::Invalid {
            key: KEY,
            problem: format!(
                "{days} days is longer than RETENTION_DAYS ({retention_days}): a replayed event whose log item had expired would be acted on again"
            ),
        }),
        asked => Ok(crate::domain::replay::window_days(asked, retention_days)),
    }
}

/// The settings: `SETTINGS_TOML` inline, else `SETTINGS_FILE`, else `./settings.toml` if present.
pub fn settings_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let non_empty = |key: &str| get(key).filter(|v| !v.trim().is_empty());
    Ok(if let Some(inline) = non_empty("SETTINGS_TOML") {
        Settings::from_toml(&inline)?
    } else {
        match non_empty("SETTINGS_FILE") {
            Some(path) => Settings::load(&PathBuf::from(path))?,
            None if std::path::Path::new("settings.toml").exists() => Settings::load("settings.toml".as_ref())?,
            None => Settings::default(),
        }
    })
}

pub fn from_env() -> Result<Config, ConfigError> {
    from_lookup(process_env)
}

/// Where the local server keeps its embedded store.
pub fn data_dir() -> PathBuf {
    std::env::var_os("DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("data"))
}

pub fn port() -> Result<u16, ConfigError> {
    port_from_lookup(process_env)
}

/// `PORT`: where the local server listens.
pub fn port_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<u16, ConfigError> {
    match get("PORT") {
        None => Ok(DEFAULT_PORT),
        Some(v) => v.parse().map_err(|_| ConfigError::Invalid { key: "PORT", problem: format!("{v:?} is not a port number") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn a_missing_secret_is_named() {
        let err = from_lookup(lookup(&[])).unwrap_err().to_string();
        assert!(err.contains("LINE_CHANNEL_SECRET"), "{err}");
    }

    #[test]
    fn the_store_memory_is_the_default_unless_set_in_whole_mib() {
        assert_eq!(store_memory_from_lookup(lookup(&[])).unwrap(), StoreMemory::default());
        let set = store_memory_from_lookup(lookup(&[("STORE_CACHE_MIB", " 8 "), ("STORE_WRITE_BUFFER_MIB", "4")])).unwrap();
        assert_eq!(set, StoreMemory { cache_bytes: 8 << 20, write_buffer_bytes: 4 << 20 });
        for bad in ["0", "-1", "1.5", "lots", "65537"] {
            let err = store_memory_from_lookup(lookup(&[("STORE_WRITE_BUFFER_MIB", bad)])).unwrap_err().to_string();
            assert!(err.contains("STORE_WRITE_BUFFER_MIB") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn a_whole_number_setting_is_none_when_blank_and_refused_outside_its_range() {
        let read = |v: &str| whole_number_in(lookup(&[("N", v)]), "N", 1..=10u32, "days").map_err(|e| e.to_string());
        assert_eq!(whole_number_in(lookup(&[]), "N", 1..=10u32, "days").unwrap(), None);
        assert_eq!(read("  "), Ok(None), "blank is unset");
        assert_eq!((read("1"), read(" 10 ")), (Ok(Some(1)), Ok(Some(10))), "both ends are in");
        for bad in ["0", "11", "-1", "2.5", "ten", "99999999999"] {
            let err = read(bad).unwrap_err();
            assert_eq!(err, format!("environment variable N: {bad:?} is not a whole number of days from 1 to 10"));
        }
        let err = retention_days_from_lookup(lookup(&[("RETENTION_DAYS", "36501")])).unwrap_err().to_string();
        assert!(err.contains("from 1 to 36500"), "{err}");
    }

    #[test]
    fn a_bad_retention_is_named() {
        let err = from_lookup(lookup(&[("LINE_CHANNEL_SECRET", "s"), ("RETENTION_DAYS", "forever")])).unwrap_err();
        assert!(err.to_string().contains("RETENTION_DAYS"), "{err}");
    }

    #[test]
    fn the_replay_window_is_a_week_unless_set_and_never_beyond_the_retention() {
        let window = |pairs: &[(&str, &str)]| {
            let mut env = vec![("LINE_CHANNEL_SECRET", "s")];
            env.extend_from_slice(pairs);
            from_lookup(lookup(&env)).map(|c| c.replay_window_days).map_err(|e| e.to_string())
        };
        assert_eq!(window(&[]), Ok(7));
        assert_eq!(window(&[("RETENTION_DAYS", "3")]), Ok(3), "a short retention shortens the default");
        assert_eq!(window(&[("REPLAY_WINDOW_DAYS", "30")]), Ok(30));
        let err = window(&[("RETENTION_DAYS", "10"), ("REPLAY_WINDOW_DAYS", "30")]).unwrap_err();
        assert!(err.contains("REPLAY_WINDOW_DAYS") && err.contains("RETENTION_DAYS (10)"), "{err}");
        for bad in ["0", "-1", "a week"] {
            let err = window(&[("REPLAY_WINDOW_DAYS", bad)]).unwrap_err();
            assert!(err.contains("REPLAY_WINDOW_DAYS"), "{bad}: {err}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = from_lookup(lookup(&[("LINE_CHANNEL_SECRET", "topsecret"), ("LINE_CHANNEL_ACCESS_TOKEN", "tok3n")])).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("topsecret") && !dbg.contains("tok3n"), "{dbg}");
    }

    #[test]
    fn the_webhook_holds_no_access_token_and_the_line_callers_no_channel_secret() {
        let env = [("LINE_CHANNEL_SECRET", "s3cret"), ("LINE_CHANNEL_ACCESS_TOKEN", "tok3n")];
        let body = br#"{"destination":"U1","events":[]}"#;
        let signature = crate::domain::signature::sign(&Secret::new("s3cret").unwrap(), body);

        let webhook = from_lookup_for(lookup(&env), Credentials::ChannelSecret).unwrap();
        assert!(webhook.access_token.is_none());
        assert_eq!(webhook.verifier.verify(body, Some(&signature)), Ok(()));

        // A channel secret left in a LINE caller's environment is not used: nothing verifies.
        let worker = from_lookup_for(lookup(&env), Credentials::AccessToken).unwrap();
        assert!(worker.access_token.is_some());
        assert!(worker.verifier.verify(body, Some(&signature)).is_err());
        let without_secret = from_lookup_for(lookup(&env[1..]), Credentials::AccessToken).unwrap();
        assert!(without_secret.verifier.verify(body, Some(&signature)).is_err());

        let err = from_lookup_for(lookup(&env[..1]), Credentials::AccessToken).unwrap_err().to_string();
        assert!(err.contains("LINE_CHANNEL_ACCESS_TOKEN"), "a LINE caller needs the token: {err}");
        let err = from_lookup_for(lookup(&env[1..]), Credentials::ChannelSecret).unwrap_err().to_string();
        assert!(err.contains("LINE_CHANNEL_SECRET"), "the webhook needs the secret: {err}");
    }

    #[test]
    fn a_command_line_run_calls_line_only_with_a_token_and_on_lines_hosts_unless_told() {
        assert!(line_access_from_lookup(lookup(&[("LINE_CHANNEL_ACCESS_TOKEN", " "), ("LINE_API_BASE_URL", "http://x")])).is_none());
        let access = line_access_from_lookup(lookup(&[("LINE_CHANNEL_ACCESS_TOKEN", "tok3n")])).unwrap();
        assert_eq!(
            (access.api_base_url.as_str(), access.data_api_base_url.as_str()),
            (DEFAULT_LINE_API_BASE_URL, DEFAULT_LINE_DATA_API_BASE_URL)
        );
        assert!(!format!("{access:?}").contains("tok3n"));
        let env = [
            ("LINE_CHANNEL_ACCESS_TOKEN", "t"),
            ("LINE_API_BASE_URL", "http://127.0.0.1:9"),
            ("LINE_DATA_API_BASE_URL", "http://127.0.0.1:8"),
        ];
        let access = line_access_from_lookup(lookup(&env)).unwrap();
        assert_eq!((access.api_base_url.as_str(), access.data_api_base_url.as_str()), ("http://127.0.0.1:9", "http://127.0.0.1:8"));
    }

    #[test]
    fn plain_http_is_refused_on_lambda_except_to_the_loopback_address() {
        for key in ["LINE_API_BASE_URL", "LINE_DATA_API_BASE_URL"] {
            let run = |url: &str, lambda: bool| {
                let mut env = vec![("LINE_CHANNEL_SECRET", "s"), (key, url)];
                if lambda {
                    env.push((LAMBDA_FUNCTION_NAME_KEY, "line-oa-webhook"));
                }
                from_lookup(lookup(&env)).map(|_| ()).map_err(|e| e.to_string())
            };
            let err = run("http://api.line.me", true).unwrap_err();
            assert!(err.contains(key) && err.contains("http://"), "{err}");
            // Tricks that look like the loopback address but are not.
            for sneaky in ["http://127.0.0.1.example.com", "http://127.0.0.1@example.com/", "http://localhost.example.com:80"] {
                assert!(run(sneaky, true).is_err(), "{sneaky} must be refused on Lambda");
            }
            for fine in ["https://api.line.me", "http://127.0.0.1:9000", "http://localhost:8080/", "http://[::1]:81"] {
                assert_eq!(run(fine, true), Ok(()), "{fine} on Lambda");
            }
            // Locally, http anywhere is the developer's choice (a stand-in, a tunnel).
            assert_eq!(run("http://api.example.com", false), Ok(()));
            for bad in ["ftp://api.line.me", "api.line.me", "https://"] {
                assert!(run(bad, false).unwrap_err().contains(key), "{bad}");
            }
        }
    }
}
