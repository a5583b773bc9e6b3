//! Canned replies (定型文): named texts staff send with one click.

use serde::{Deserialize, Serialize};

use super::keywords::normalize;
use super::outbound::MAX_TEXT_UTF16;

pub const MAX_NAME_CHARS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReply {
    pub id: String,
    pub name: String,
    pub text: String,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CannedError {
    #[error("`{field}`: {problem}")]
    Invalid { field: &'static str, problem: String },
}

fn invalid(field: &'static str, problem: impl Into<String>) -> CannedError {
    CannedError::Invalid { field, problem: problem.into() }
}

impl CannedReply {
    pub fn new(id: String, name: &str, text: &str, now_ms: i64) -> Result<Self, CannedError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid("name", format!("at most {MAX_NAME_CHARS} characters")));
        }
        if text.trim().is_empty() {
            return Err(invalid("text", "must not be empty"));
        }
        let units = text.encode_utf16().count();
        if units > MAX_TEXT_UTF16 {
            return Err(invalid("text", format!("{units} UTF-16 units; LINE takes at most {MAX_TEXT_UTF16}")));
        }
        Ok(Self { id, name: name.to_owned(), text: text.to_owned(), updated_ms: now_ms })
    }

    /// Whether `query` (already `normalize`d) occurs in the name or the text.
    pub fn matches(&self, query: &str) -> bool {
        query.is_empty() || normalize(&self.name).contains(query) || normalize(&self.text).contains(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_searches() {
        let c = CannedReply::new("1".into(), "営業時間", "ＯＰＥＮ 10:00-18:00", 0).unwrap();
        assert!(c.matches(&normalize("open")), "full-width text matches a half-width query");
        assert!(c.matches(&normalize("営業")));
        assert!(!c.matches(&normalize("closed")));
        assert!(CannedReply::new("2".into(), "", "x", 0).unwrap_err().to_string().contains("`name`"));
        assert!(CannedReply::new("2".into(), "n", " ", 0).unwrap_err().to_string().contains("`text`"));
        assert!(CannedReply::new("2".into(), "n", &"a".repeat(5001), 0).unwrap_err().to_string().contains("5000"));
    }
}
