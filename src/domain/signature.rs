//! LINE webhook signature: Base64(HMAC-SHA256(channel secret, raw body)), checked in constant time.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Header LINE puts the signature in (HTTP header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "x-line-signature";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the x-line-signature header is missing")]
    Missing,
    #[error("the x-line-signature header is not valid Base64 of a 32-byte HMAC")]
    Malformed,
    #[error("the x-line-signature does not match the body")]
    Mismatch,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the channel secret is empty")]
pub struct EmptySecret;

/// A channel secret. `Debug` is redacted so it never reaches a log line.
#[derive(Clone)]
pub struct ChannelSecret(SecretString);

impl ChannelSecret {
    pub fn new(secret: impl Into<String>) -> Result<Self, EmptySecret> {
        let secret: String = secret.into();
        if secret.trim().is_empty() {
            return Err(EmptySecret);
        }
        Ok(Self(SecretString::from(secret)))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        HmacSha256::new_from_slice(self.0.expose_secret().as_bytes()).expect("HMAC accepts any key length")
    }

    /// Signs a body the way LINE does; used by tests, the event generator and the bench.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(body);
        BASE64.encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for ChannelSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChannelSecret(***)")
    }
}

/// The secrets a webhook accepts: the current one and, during rotation, the next one.
#[derive(Clone)]
pub struct SignatureVerifier {
    /// One keyed HMAC state per secret, built once: cloning it per request skips hashing the
    /// key pads again (two of the ~12 SHA-256 blocks a 554-byte body costs).
    keyed: Vec<HmacSha256>,
}

impl std::fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignatureVerifier({} secrets, ***)", self.keyed.len())
    }
}

impl SignatureVerifier {
    pub fn new(current: ChannelSecret, next: Option<ChannelSecret>) -> Self {
        Self { keyed: std::iter::once(current).chain(next).map(|s| s.mac()).collect() }
    }

    /// Verifies the raw body bytes; never a parsed and re-serialised body.
    pub fn verify(&self, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let mut expected = [0u8; 32];
        match BASE64.decode_slice(header.trim().as_bytes(), &mut expected) {
            Ok(32) => {}
            _ => return Err(SignatureError::Malformed),
        }
        // `verify_slice` compares in constant time.
        let matches = self.keyed.iter().any(|keyed| {
            let mut mac = keyed.clone();
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        });
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(secret: &str) -> SignatureVerifier {
        SignatureVerifier::new(ChannelSecret::new(secret).unwrap(), None)
    }

    #[test]
    fn the_documented_example_verifies() {
        let body = br#"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#;
        let v = verifier("8c570fa6dd201bb328f1c1eac23a96d8");
        assert_eq!(v.verify(body, Some("GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=")), Ok(()));
    }

    #[test]
    fn a_one_bit_change_in_the_body_is_a_mismatch() {
        let v = verifier("s3cret");
        let sig = ChannelSecret::new("s3cret").unwrap().sign(b"{\"events\":[]}");
        assert_eq!(v.verify(b"{\"events\":[ ]}", Some(&sig)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        let v = verifier("s3cret");
        assert_eq!(v.verify(b"{}", None), Err(SignatureError::Missing));
        assert_eq!(v.verify(b"{}", Some("not base64!")), Err(SignatureError::Malformed));
        assert_eq!(v.verify(b"{}", Some("AAAA")), Err(SignatureError::Malformed));
    }

    #[test]
    fn the_next_secret_is_accepted_during_rotation() {
        let next = ChannelSecret::new("next").unwrap();
        let v = SignatureVerifier::new(ChannelSecret::new("current").unwrap(), Some(next.clone()));
        assert_eq!(v.verify(b"{}", Some(&next.sign(b"{}"))), Ok(()));
    }

    #[test]
    fn an_empty_secret_is_refused_and_debug_is_redacted() {
        assert_eq!(ChannelSecret::new("  ").unwrap_err(), EmptySecret);
        assert_eq!(format!("{:?}", ChannelSecret::new("abc").unwrap()), "ChannelSecret(***)");
    }
}
