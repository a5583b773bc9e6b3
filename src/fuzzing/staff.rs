//! Who staff are: the local server's operator token table (`OPERATOR_TOKENS`) and the role
//! read from Cognito's groups as API Gateway's JWT authorizer hands them over.

use crate::domain::staff::{hash_token, Role, Staff, TokenTable};
use crate::http::operator::role_from_groups;

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Any table: it parses or names the bad entry; a parsed table holds only well-formed entries
/// and lets nobody in with an empty token. Input: `name \n role \n token \n table`. A table
/// written by `line-oa operator-token` for (name, role, token) lets exactly that token in, as
/// that member of staff, and a table with a bad role is refused at that entry.
pub fn operator_tokens(data: &[u8]) {
    let [name, role, token, table] = super::fields::<4>(data);
    let (name, role, token, table) = (super::text(name), super::text(role), super::text(token), super::text(table));

    let entries: Vec<&str> = table.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect();
    match TokenTable::parse(&table) {
        Ok(parsed) => {
            assert_eq!(parsed.is_empty(), entries.is_empty());
            for entry in &entries {
                let parts: Vec<&str> = entry.splitn(3, ':').collect();
                assert!(parts.len() == 3 && !parts[0].is_empty() && Role::parse(parts[1]).is_some(), "{entry:?} was accepted");
                assert!(is_hex64(parts[2].trim()), "{entry:?} was accepted: its hash is not 64 hex digits");
            }
            // Whoever the table lets in is an entry whose hash is that of the token presented.
            if let Some(staff) = parsed.authenticate(&token) {
                let hash = hash_token(&token);
                let listed = entries.iter().any(|e| {
                    let parts: Vec<&str> = e.splitn(3, ':').collect();
                    parts[0] == staff.name && parts[1] == staff.role.as_str() && parts[2].trim().eq_ignore_ascii_case(&hash)
                });
                assert!(listed, "{staff:?} let in by a token none of its entries hashes");
            }
            assert_eq!(format!("{parsed:?}"), format!("TokenTable({} operators)", entries.len()));
        }
        Err(e) => assert!(e.entry >= 1 && e.entry <= entries.len(), "entry {} of {}", e.entry, entries.len()),
    }

    // A generated entry: names and roles cannot hold the separators; the entry is trimmed.
    if name.contains([',', '\n', ':']) || role.contains([',', '\n', ':']) {
        return;
    }
    let spec = format!("{name}:{role}:{}", hash_token(&token));
    let name = name.trim_start();
    match (TokenTable::parse(&spec), Role::parse(&role)) {
        (Ok(table), Some(role)) if !name.is_empty() => {
            assert_eq!(table.authenticate(&token), Some(Staff { name: name.to_owned(), role }));
            assert_eq!(table.authenticate(&format!("{token}x")), None);
        }
        (Err(e), _) => assert!(name.is_empty() || Role::parse(&role).is_none(), "{spec:?} refused: {e}"),
        (Ok(_), _) => panic!("{spec:?} accepted with an empty name or a bad role"),
    }
}

/// How API Gateway hands a claim array to the function: `[a b c]`.
fn flattened(groups: &[&str]) -> String {
    format!("[{}]", groups.join(" "))
}

/// Any claim value: no panic. For any list of groups (Cognito group names hold no whitespace),
/// rendered as API Gateway does or as a JSON array, the role is admin only if one group is
/// named `admin`, operator only if one is named `operator`: no other group name grants a role.
pub fn cognito_groups(data: &[u8]) {
    let claim = super::text(data);
    let _ = role_from_groups(&claim);
    let groups: Vec<&str> = claim.split_whitespace().collect();
    // A quote is where the two forms meet: `["admin"]` is both the JSON array of `admin` and the
    // flattening of one group named `"admin"`. Cognito allows such a name; this account has none.
    if groups.iter().any(|g| g.contains('"')) {
        return;
    }
    let expected = if groups.contains(&"admin") {
        Some(Role::Admin)
    } else if groups.contains(&"operator") {
        Some(Role::Operator)
    } else {
        None
    };
    assert_eq!(role_from_groups(&flattened(&groups)), expected, "groups {groups:?} as {}", flattened(&groups));
    let json = serde_json::to_string(&groups).expect("strings serialise");
    assert_eq!(role_from_groups(&json), expected, "groups {groups:?} as {json}");
}
