//! Who may use the operator API: two roles, and the local server's hashed operator tokens.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works conversations: read, reply, tag, note, mark.
    Operator,
    /// Also reads and replaces the response-rule settings.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "operator" => Some(Self::Operator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// An authenticated member of staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OPERATOR_TOKENS entry {entry}: {problem}")]
pub struct TokenTableError {
    pub entry: usize,
    pub problem: String,
}

/// SHA-256 of a token, hex. Tokens are 256-bit random strings, so an unsalted hash is enough:
/// the table on disk or in the environment does not let anyone log in.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

struct Entry {
    staff: Staff,
    hash: [u8; 32],
}

/// `name:role:sha256hex` entries separated by `,` or newlines (see `line-oa operator-token`).
pub struct TokenTable {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenTable({} operators)", self.entries.len())
    }
}

impl TokenTable {
    pub fn parse(spec: &str) -> Result<Self, TokenTableError> {
        let mut entries = Vec::new();
        for (i, raw) in spec.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            let err = |problem: &str| TokenTableError { entry: i + 1, problem: problem.to_owned() };
            let mut parts = raw.splitn(3, ':');
            let (Some(name), Some(role), Some(hex)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(err("expected name:role:sha256hex"));
            };
            if name.is_empty() {
                return Err(err("the name is empty"));
            }
            let role = Role::parse(role).ok_or_else(|| err("the role must be operator or admin"))?;
            let hash = decode_hex32(hex).ok_or_else(|| err("the hash must be 64 hex digits (SHA-256 of the token)"))?;
            entries.push(Entry { staff: Staff { name: name.to_owned(), role }, hash });
        }
        Ok(Self { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Compares against every entry in constant time, so timing tells nothing about which matched.
    pub fn authenticate(&self, token: &str) -> Option<Staff> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.hash.ct_eq(&presented)) && found.is_none() {
                found = Some(entry.staff.clone());
            }
        }
        found
    }
}

/// Exactly 64 hex digits (either case); `hex` refuses any other length and any non-digit, a
/// sign (`+f`) included.
fn decode_hex32(digits: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits.trim(), &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticates_by_hash_only() {
        let spec = format!("alice:admin:{}, bob:operator:{}", hash_token("a-token"), hash_token("b-token"));
        let table = TokenTable::parse(&spec).unwrap();
        assert_eq!(table.authenticate("a-token"), Some(Staff { name: "alice".into(), role: Role::Admin }));
        assert_eq!(table.authenticate("b-token").unwrap().role, Role::Operator);
        assert_eq!(table.authenticate("c-token"), None);
        assert_eq!(table.authenticate(""), None);
        assert!(!format!("{table:?}").contains(&hash_token("a-token")));
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(TokenTable::parse("x:root:00").unwrap_err().entry, 1);
        let err = TokenTable::parse(&format!("a:admin:{},b:admin:zz", hash_token("t"))).unwrap_err();
        assert_eq!(err.entry, 2);
        assert!(err.to_string().contains("64 hex"), "{err}");
        let hash = hash_token("t");
        for bad in [format!("+{}", &hash[1..]), hash[..62].to_owned(), format!("{hash}00"), format!("{}g", &hash[..63])] {
            assert!(TokenTable::parse(&format!("a:admin:{bad}")).is_err(), "{bad}");
        }
        assert!(TokenTable::parse(&format!("a:admin: {} ", hash.to_ascii_uppercase())).is_ok(), "either case, trimmed");
    }

    #[test]
    fn admin_includes_operator() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
    }
}
