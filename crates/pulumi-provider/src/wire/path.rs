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

    /// Parses a path the way the engine does (`ParsePropertyPath` in the
    /// pulumi SDK's `properties_path.go`): a bare name runs to the next `.`
    /// or `[`, a quoted key unescapes only `\"`, `[*]` is the wildcard key
    /// `*`. Negative indices, which no provider property has, are refused.
    pub fn parse(path: &str) -> Result<Path, String> {
        let b = path.as_bytes();
        if b.first() == Some(&b'.') {
            return Err("expected property path to start with a name or index".into());
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'.' => {
                    i += 1;
                    if i == b.len() {
                        return Err("expected property path to end with a name or index".into());
                    }
                }
                b'[' if b.get(i + 1) == Some(&b'"') => {
                    let mut key = Vec::new();
                    let mut j = i + 2;
                    loop {
                        match b.get(j) {
                            None => return Err("missing closing quote in property name".into()),
                            Some(b'"') => break,
                            Some(b'\\') if b.get(j + 1) == Some(&b'"') => {
                                key.push(b'"');
                                j += 2;
                            }
                            Some(c) => {
                                key.push(*c);
                                j += 1;
                            }
                        }
                    }
                    if b.get(j + 1) != Some(&b']') {
                        return Err("missing closing bracket in property access".into());
                    }
                    out.push(Segment::Key(String::from_utf8_lossy(&key).into_owned()));
                    i = j + 2;
                }
                b'[' => {
                    let close = b[i..]
                        .iter()
                        .position(|c| *c == b']')
                        .ok_or("missing closing bracket in array index")?;
                    let inner = &path[i + 1..i + close];
                    if inner == "*" {
                        out.push(Segment::Key("*".into()));
                    } else {
                        let n = inner
                            .parse::<usize>()
                            .map_err(|e| format!("invalid array index {inner:?}: {e}"))?;
                        out.push(Segment::Index(n));
                    }
                    i += close + 1;
                }
                _ => {
                    let start = i;
                    while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                        i += 1;
                    }
                    out.push(Segment::Key(path[start..i].to_string()));
                }
            }
        }
        Ok(Path(out))
    }

    /// True when `other` lies at or under this path; the key `*` matches any
    /// one element (`PropertyPath.Contains`).
    pub fn contains(&self, other: &Path) -> bool {
        other.0.len() >= self.0.len()
            && self.0.iter().zip(&other.0).all(|(p, o)| match (p, o) {
                (Segment::Key(k), _) if k == "*" => true,
                (a, b) => a == b,
            })
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

    #[test]
    fn parses_and_matches_like_the_engine() {
        let p = |s: &str| Path::parse(s).unwrap();
        assert_eq!(
            p(r#"tags["team.x"]"#),
            Path::root().key("tags").key("team.x")
        );
        assert_eq!(
            p("containers[0].image"),
            Path::root().key("containers").index(0).key("image")
        );
        assert!(p("containers[*].image").contains(&p("containers[1].image")));
        assert!(p("context").contains(&p(r#"context["src/a.ts"]"#)));
        assert!(!p("tag").contains(&p("tags.a")));
        assert!(!p("containers[0].image").contains(&p("containers[0]")));
        for bad in [".a", "a.", "a[", "a[x]", r#"a["x"#, r#"a["b\"]"#] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
        for key in ["src/app.sh", r#"q"uote"#, r"back\slash", "ü x", r"trail\"] {
            let path = Path::root().key("context").key(key);
            assert_eq!(p(&path.to_string()), path, "{path}");
        }
    }
}
