//! The `x-line-signature` header: taken from the raw header bytes as the edge does, checked
//! against the raw body. Input: `secret \n header \n body`.

use axum::http::HeaderValue;
use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};

use crate::domain::secret::Secret;
use crate::domain::signature::{sign, SignatureError, SignatureVerifier};

/// Any secret, header and body: verification never panics and its error says the right thing
/// (missing, malformed, or a mismatch); LINE's own signature always verifies, with either secret
/// of a rotation and with surrounding whitespace; the body with one more byte never does; a
/// secret never shows in `Debug`.
pub fn signature(data: &[u8]) {
    let [secret, header, body] = super::fields::<3>(data);
    let secret = super::text(secret);
    let Ok(channel) = Secret::new(secret.as_ref()) else {
        assert!(secret.trim().is_empty(), "only an empty secret is refused");
        return;
    };
    assert_eq!(format!("{channel:?}"), "Secret(***)");
    let verifier = SignatureVerifier::new(channel.clone(), None);
    assert_eq!(format!("{verifier:?}"), "SignatureVerifier(1 secrets, ***)");

    // The header as the edge reads it: a header value that is not visible ASCII counts as absent.
    let presented = HeaderValue::from_bytes(header).ok();
    let presented = presented.as_ref().and_then(|v| v.to_str().ok());
    let result = verifier.verify(body, presented);
    match presented {
        None => assert_eq!(result, Err(SignatureError::Missing)),
        Some(h) => {
            let well_formed = BASE64.decode(h.trim()).is_ok_and(|mac| mac.len() == 32);
            match &result {
                Err(SignatureError::Malformed) => assert!(!well_formed, "{h:?} is Base64 of 32 bytes"),
                Ok(()) | Err(SignatureError::Mismatch) => assert!(well_formed, "{h:?} is not Base64 of 32 bytes"),
                Err(SignatureError::Missing) => panic!("a present header was called missing"),
            }
            if result.is_ok() {
                assert_eq!(BASE64.decode(h.trim()).ok(), BASE64.decode(sign(&channel, body)).ok(), "only the body's own MAC verifies");
            }
        }
    }

    let signed = sign(&channel, body);
    assert_eq!(verifier.verify(body, Some(&signed)), Ok(()));
    assert_eq!(verifier.verify(body, Some(&format!(" {signed}\t"))), Ok(()));
    let mut longer = body.to_vec();
    longer.push(b' ');
    assert_eq!(verifier.verify(&longer, Some(&signed)), Err(SignatureError::Mismatch));

    // Rotation: the next secret verifies too; a verifier without it does not (unless equal).
    let other = Secret::new(format!("{secret}-old")).expect("not empty");
    let rotating = SignatureVerifier::new(other.clone(), Some(channel.clone()));
    assert_eq!(rotating.verify(body, Some(&signed)), Ok(()));
    let old_only = SignatureVerifier::new(other, None);
    assert_eq!(old_only.verify(body, Some(&signed)), Err(SignatureError::Mismatch));
}
