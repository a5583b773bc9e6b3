//! `line-oa operator-token NAME ROLE`: a new token for the local operator API. Only its hash is
//! configured (`OPERATOR_TOKENS`), so the token is shown once.

use super::CliResult;
use crate::domain::staff::{hash_token, Role};

/// Tokens start with this, so a leaked one is recognisable (secret scanners, logs).
const TOKEN_PREFIX: &str = "loa_";

/// Make a token for the local operator API: prints the token once and the OPERATOR_TOKENS
/// entry (its hash) to configure.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Who the token is for (no spaces, `:` or `,`)
    #[arg(value_parser = name)]
    name: String,
    /// operator (conversations) or admin (also the settings)
    #[arg(value_parser = role)]
    role: Role,
}

fn name(name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains([':', ',']) || name.chars().any(char::is_whitespace) {
        return Err(format!("NAME {name:?} must be non-empty, without spaces, `:` or `,`"));
    }
    Ok(name.to_owned())
}

fn role(role: &str) -> Result<Role, String> {
    Role::parse(role).ok_or_else(|| format!("ROLE must be operator or admin, not {role:?}"))
}

/// `loa_` and 64 hex digits: 256 bits from the operating system's generator.
fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

pub fn run(Args { name, role }: Args) -> CliResult {
    let token = new_token().map_err(|e| format!("no randomness from the operating system: {e}"))?;
    println!("token (give it to {name}; it is not stored anywhere):\n  {token}");
    println!("OPERATOR_TOKENS entry (comma-separate several):\n  {name}:{}:{}", role.as_str(), hash_token(&token));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::staff::TokenTable;

    #[test]
    fn a_token_is_the_prefix_and_256_random_bits_in_hex_and_its_entry_authenticates_it() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        let digits = a.strip_prefix("loa_").unwrap();
        assert_eq!(digits.len(), 64);
        assert!(digits.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
        let table = TokenTable::parse(&format!("alice:admin:{}", hash_token(&a))).unwrap();
        assert_eq!(table.authenticate(&a).map(|s| s.role), Some(Role::Admin));
        assert_eq!(table.authenticate(&b), None);
    }

    #[test]
    fn a_name_with_a_separator_or_space_and_an_unknown_role_are_refused() {
        for bad in ["", "a:b", "a,b", "a b"] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
        assert!(role("root").unwrap_err().contains("operator or admin"));
        assert_eq!(role("operator"), Ok(Role::Operator));
    }
}
