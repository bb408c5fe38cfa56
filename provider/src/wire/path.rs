//! Property paths in the engine's notation: `a.b`, `list[0]`, `map["k.x"]`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<Segment>);

impl Path {
    pub fn root() -> Self {
        Path(Vec::new())
    }

    pub fn key(&self, key: &str) -> Path {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Path(segments)
    }

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

/// How `key` is written after a path (`first`: as the path's first element)
/// so that the engine's `ParsePropertyPath` reads back exactly `key`; `None`
/// when no spelling does.
///
/// In the engine's grammar a quoted key unescapes only `\"`, so quotes are
/// escaped and every other byte (backslashes, dots, brackets, spaces,
/// unicode) is written as is. A key that ends in a backslash cannot be quoted
/// (its closing quote would read as escaped); written bare it parses only if
/// it has no `.` or `[`.
pub fn encode_key(key: &str, first: bool) -> Option<String> {
    if is_plain_key(key) {
        return Some(if first {
            key.to_string()
        } else {
            format!(".{key}")
        });
    }
    if !key.ends_with('\\') {
        return Some(format!("[\"{}\"]", key.replace('"', "\\\"")));
    }
    if !key.contains(['.', '[']) {
        return Some(if first {
            key.to_string()
        } else {
            format!(".{key}")
        });
    }
    None
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
                Segment::Key(k) => match encode_key(k, i == 0) {
                    Some(text) => f.write_str(&text)?,
                    None => write!(f, "[\"{}\"]", k.replace('"', "\\\""))?,
                },
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

    #[test]
    fn keys_are_written_as_the_engine_parses_them() {
        assert_eq!(
            encode_key("src/app.sh", false).unwrap(),
            r#"["src/app.sh"]"#
        );
        assert_eq!(encode_key(r#"a"b"#, false).unwrap(), r#"["a\"b"]"#);
        assert_eq!(encode_key(r"a\b", false).unwrap(), r#"["a\b"]"#);
        assert_eq!(encode_key(r"dir\", false).unwrap(), r".dir\");
        assert_eq!(encode_key("ü x", true).unwrap(), r#"["ü x"]"#);
        assert_eq!(encode_key(r"a.b\", false), None);
    }
}
