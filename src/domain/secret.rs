//! A secret from configuration (the LINE channel secret, the notification webhook's signing
//! secret): never empty, never in a log line.

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the secret is empty")]
pub struct EmptySecret;

/// A non-empty secret string. `Debug` is redacted so it never reaches a log line.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Refuses an empty or all-whitespace secret: an HMAC keyed with it would sign for anyone.
    pub fn new(secret: impl Into<String>) -> Result<Self, EmptySecret> {
        let secret: String = secret.into();
        if secret.trim().is_empty() {
            return Err(EmptySecret);
        }
        Ok(Self(SecretString::from(secret)))
    }

    /// The secret's bytes, to key an HMAC with; never to print.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_secret_is_refused_and_debug_is_redacted() {
        assert_eq!(Secret::new("  ").unwrap_err(), EmptySecret);
        assert_eq!(Secret::new(" \t").unwrap_err(), EmptySecret);
        let dbg = format!("{:?}", Secret::new("hunter2").unwrap());
        assert_eq!(dbg, "Secret(***)");
    }
}
