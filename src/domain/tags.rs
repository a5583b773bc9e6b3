//! Tags staff put on users, with LINE's limits: 200 tags in all, 10 per user.

use serde::{Deserialize, Serialize};

pub const MAX_TAGS: usize = 200;
pub const MAX_TAGS_PER_USER: usize = 10;
pub const MAX_TAG_NAME_CHARS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
}

/// Every tag of the account: small (≤ 200 short names), so it is stored and versioned as one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRegistry {
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("`name`: {0}")]
    InvalidName(String),
    #[error("`name`: a tag named {0:?} exists already")]
    Duplicate(String),
    #[error("the account has {MAX_TAGS} tags already, LINE's limit")]
    TooManyTags,
    #[error("no tag with id {0:?}")]
    NotFound(String),
    #[error("the user has {MAX_TAGS_PER_USER} tags already, LINE's limit")]
    TooManyForUser,
}

fn valid_name(name: &str) -> Result<String, TagError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TagError::InvalidName("must not be empty".into()));
    }
    let chars = name.chars().count();
    if chars > MAX_TAG_NAME_CHARS {
        return Err(TagError::InvalidName(format!("{chars} characters; at most {MAX_TAG_NAME_CHARS}")));
    }
    Ok(name.to_owned())
}

impl TagRegistry {
    pub fn get(&self, id: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.id == id)
    }

    fn check_unique(&self, name: &str, except: Option<&str>) -> Result<(), TagError> {
        let taken = self.tags.iter().any(|t| Some(t.id.as_str()) != except && t.name.eq_ignore_ascii_case(name));
        if taken {
            return Err(TagError::Duplicate(name.to_owned()));
        }
        Ok(())
    }

    pub fn create(&mut self, id: String, name: &str, now_ms: i64) -> Result<Tag, TagError> {
        let name = valid_name(name)?;
        self.check_unique(&name, None)?;
        if self.tags.len() >= MAX_TAGS {
            return Err(TagError::TooManyTags);
        }
        let tag = Tag { id, name, created_ms: now_ms };
        self.tags.push(tag.clone());
        Ok(tag)
    }

    pub fn rename(&mut self, id: &str, name: &str) -> Result<Tag, TagError> {
        let name = valid_name(name)?;
        self.check_unique(&name, Some(id))?;
        let tag = self.tags.iter_mut().find(|t| t.id == id).ok_or_else(|| TagError::NotFound(id.to_owned()))?;
        tag.name = name;
        Ok(tag.clone())
    }

    pub fn delete(&mut self, id: &str) -> Result<Tag, TagError> {
        let at = self.tags.iter().position(|t| t.id == id).ok_or_else(|| TagError::NotFound(id.to_owned()))?;
        Ok(self.tags.remove(at))
    }
}

/// Tags `user_tags` with `id` (known to exist). Returns false if it was there already.
pub fn add_to_user(user_tags: &mut Vec<String>, id: &str) -> Result<bool, TagError> {
    if user_tags.iter().any(|t| t == id) {
        return Ok(false);
    }
    if user_tags.len() >= MAX_TAGS_PER_USER {
        return Err(TagError::TooManyForUser);
    }
    user_tags.push(id.to_owned());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_lines() {
        let mut registry = TagRegistry::default();
        for i in 0..MAX_TAGS {
            registry.create(format!("t{i}"), &format!("tag {i}"), 0).unwrap();
        }
        assert_eq!(registry.create("x".into(), "one more", 0), Err(TagError::TooManyTags));
        let mut user = Vec::new();
        for i in 0..MAX_TAGS_PER_USER {
            assert!(add_to_user(&mut user, &format!("t{i}")).unwrap());
        }
        assert!(!add_to_user(&mut user, "t0").unwrap(), "re-adding is a no-op, not an error");
        assert_eq!(add_to_user(&mut user, "t10"), Err(TagError::TooManyForUser));
    }

    #[test]
    fn names_are_checked() {
        let mut registry = TagRegistry::default();
        registry.create("a".into(), "VIP", 0).unwrap();
        assert_eq!(registry.create("b".into(), "vip", 0), Err(TagError::Duplicate("vip".into())));
        assert!(matches!(registry.create("b".into(), "  ", 0), Err(TagError::InvalidName(_))));
        assert!(matches!(registry.create("b".into(), &"長".repeat(21), 0), Err(TagError::InvalidName(_))));
        assert_eq!(registry.rename("a", "vip").unwrap().name, "vip", "renaming to itself in another case is fine");
        assert_eq!(registry.rename("zz", "x"), Err(TagError::NotFound("zz".into())));
        assert_eq!(registry.delete("a").unwrap().id, "a");
        assert!(registry.get("a").is_none());
    }
}
