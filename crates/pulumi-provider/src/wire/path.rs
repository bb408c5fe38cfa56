//! Property paths in the engine's notation: `a.b`, `list[0]`, `map["k.x"]`.

use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// An object property or map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path from the top of a property map.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<Segment>);

impl Path {
    /// The empty path (the whole map).
    pub fn root() -> Self {
        Path(Vec::new())
    }

    /// This path, then `key`.
    pub fn key(&self, key: &str) -> Path {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Path(segments)
    }

    /// This path, then `[index]`.
    pub fn index(&self, index: usize) -> Path {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Path(segments)
    }

    /// The first key, i.e. the top-level property this path lies in.
    pub fn top_level(&self) -> Option<&str> {
        match self.0.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone()))?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_engine_notation() {
        let p = Path::root()
            .key("containers")
            .index(0)
            .key("environment")
            .key("LOG_LEVEL");
        assert_eq!(p.to_string(), "containers[0].environment.LOG_LEVEL");
        let p = Path::root().key("labels").key("a.b");
        assert_eq!(p.to_string(), "labels[\"a.b\"]");
    }
}
