//! Closed sets of values that are stored and shown as their names: serialized as the bare
//! string, byte for byte what the free strings they replaced wrote, and a name not known (old
//! data, a value LINE adds) kept as it is, never refused.

/// `Serialize` as `as_str()`, `Deserialize` through `from_name` (total: an unknown name is
/// kept in the type's `Other`), and `Display` as the name, for an enum with those two methods.
macro_rules! serde_by_name {
    ($ty:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Name;
                impl serde::de::Visitor<'_> for Name {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a string")
                    }
                    // A known name is read without allocating; only an unknown one is copied.
                    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<$ty, E> {
                        Ok($ty::from_name(name))
                    }
                }
                d.deserialize_str(Name)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use serde_by_name;
