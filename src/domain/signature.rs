//! LINE webhook signature: Base64(HMAC-SHA256(channel secret, raw body)), checked in constant time.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::secret::Secret;

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

/// A keyed HMAC state for one secret: HMAC takes keys of any length, so this cannot fail.
fn keyed(secret: &Secret) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.expose()).expect("HMAC accepts any key length")
}

/// Signs a body the way LINE does with a channel secret; used by tests, the event generator and
/// the bench.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(body);
    BASE64.encode(mac.finalize().into_bytes())
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
    /// The channel secret and, during rotation, the next one.
    pub fn new(current: Secret, next: Option<Secret>) -> Self {
        Self { keyed: std::iter::once(current).chain(next).map(|s| keyed(&s)).collect() }
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
    use crate::domain::secret::EmptySecret;

    fn verifier(secret: &str) -> SignatureVerifier {
        SignatureVerifier::new(Secret::new(secret).unwrap(), None)
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
        let sig = sign(&Secret::new("s3cret").unwrap(), b"{\"events\":[]}");
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
        let next = Secret::new("next").unwrap();
        let v = SignatureVerifier::new(Secret::new("current").unwrap(), Some(next.clone()));
        assert_eq!(v.verify(b"{}", Some(&sign(&next, b"{}"))), Ok(()));
    }

    #[test]
    fn an_empty_channel_secret_is_refused_and_neither_secret_nor_verifier_shows_it() {
        assert_eq!(Secret::new("  ").unwrap_err(), EmptySecret);
        assert_eq!(format!("{:?}", Secret::new("abc").unwrap()), "Secret(***)");
        let v = SignatureVerifier::new(Secret::new("abc").unwrap(), Some(Secret::new("def").unwrap()));
        assert_eq!(format!("{v:?}"), "SignatureVerifier(2 secrets, ***)");
    }
}
