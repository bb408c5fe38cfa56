//! Property paths exactly as the engine reads them.
//!
//! Every key of a provider's `detailedDiff`, every `ignoreChanges` and
//! `replaceOnChanges` entry is a property path in the engine's grammar. A key
//! the engine cannot parse fails the step (`applyReplaceOnChanges` returns the
//! parse error), and the CLI renders each key by walking it through the old
//! outputs and new inputs, so the harness must parse paths the same way, quirks
//! included: a bare name runs up to the next `.` or `[` (so `foo-bar` is one
//! key), a quoted key only unescapes `\"`, and `[*]` is a wildcard.
//!
//! Mirrors `sdk/go/common/resource/properties_path.go` of pulumi/pulumi:
//! `parsePropertyPath` (non-strict, as `ParsePropertyPath`), `PropertyPath.Get`,
//! `PropertyPath.Contains`, `PropertyPath.Reset` and `PropertyPath.String`.

use std::fmt;

use serde_json::Value as Json;

use crate::values::{is_secret, secret, unwrap_secret};

/// One element of a path: an object key (`"*"` is the wildcard) or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    Key(String),
    Index(i64),
}

/// A parsed property path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyPath(pub Vec<Element>);

/// Why a path does not parse (the engine's own messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PathError {}

fn err(msg: &str) -> PathError {
    PathError(msg.to_string())
}

impl PropertyPath {
    /// Parses a path with the engine's non-strict grammar.
    ///
    /// Mirrors `resource.ParsePropertyPath` (`parsePropertyPath(path, false)`).
    /// Works on bytes, as the Go code does, so multi-byte characters in bare
    /// names and quoted keys pass through unchanged.
    pub fn parse(path: &str) -> Result<PropertyPath, PathError> {
        let bytes = path.as_bytes();
        let mut elements = Vec::new();
        if bytes.first() == Some(&b'.') {
            return Err(err("expected property path to start with a name or index"));
        }
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    i += 1;
                    if i == bytes.len() {
                        return Err(err("expected property path to end with a name or index"));
                    }
                    // A '.' followed by '[' is tolerated in non-strict mode.
                }
                b'[' => {
                    if bytes.get(i + 1) == Some(&b'"') {
                        let mut key: Vec<u8> = Vec::new();
                        let mut j = i + 2;
                        loop {
                            if j >= bytes.len() {
                                return Err(err("missing closing quote in property name"));
                            } else if bytes[j] == b'"' {
                                j += 1;
                                break;
                            } else if bytes[j] == b'\\' && bytes.get(j + 1) == Some(&b'"') {
                                key.push(b'"');
                                j += 2;
                            } else {
                                key.push(bytes[j]);
                                j += 1;
                            }
                        }
                        if bytes.get(j) != Some(&b']') {
                            return Err(err("missing closing bracket in property access"));
                        }
                        elements.push(Element::Key(String::from_utf8_lossy(&key).into_owned()));
                        i = j + 1;
                    } else {
                        let Some(close) = bytes[i..].iter().position(|b| *b == b']') else {
                            return Err(err("missing closing bracket in array index"));
                        };
                        let segment = &path[i + 1..i + close];
                        if segment == "*" {
                            elements.push(Element::Key("*".to_string()));
                        } else {
                            let index: i64 = parse_go_int(segment).ok_or_else(|| {
                                PathError(format!(
                                    "invalid array index: strconv.ParseInt: parsing {segment:?}: invalid syntax"
                                ))
                            })?;
                            elements.push(Element::Index(index));
                        }
                        i += close + 1;
                    }
                }
                _ => {
                    let start = i;
                    while i < bytes.len() && bytes[i] != b'.' && bytes[i] != b'[' {
                        i += 1;
                    }
                    elements.push(Element::Key(path[start..i].to_string()));
                }
            }
        }
        Ok(PropertyPath(elements))
    }

    /// The first element as a top-level property key, if it is a key.
    pub fn root_key(&self) -> Option<&str> {
        match self.0.first() {
            Some(Element::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// True when `other` lies at or under this path (`*` matches any one element).
    ///
    /// Mirrors `PropertyPath.Contains`.
    pub fn contains(&self, other: &PropertyPath) -> bool {
        if other.0.len() < self.0.len() {
            return false;
        }
        self.0.iter().zip(&other.0).all(|(p, o)| match (p, o) {
            (Element::Index(a), Element::Index(b)) => a == b,
            (Element::Key(k), _) if k == "*" => true,
            (Element::Key(a), Element::Key(b)) => a == b,
            _ => false,
        })
    }

    /// The value at this path; secrets on the way are unwrapped and reported.
    ///
    /// Mirrors `PropertyPath.Get`, plus the look-through of secrets that the
    /// CLI's `getProperty` (pkg/engine/detailedDiff.go) does.
    pub fn get<'a>(&self, root: &'a Json) -> Option<(&'a Json, bool)> {
        let mut cur = root;
        let mut was_secret = false;
        for e in &self.0 {
            if is_secret(cur) {
                was_secret = true;
                cur = unwrap_secret(cur);
            }
            cur = match (e, cur) {
                (Element::Index(i), Json::Array(items)) => items.get(usize::try_from(*i).ok()?)?,
                (Element::Key(k), Json::Object(map)) => map.get(k)?,
                _ => return None,
            };
        }
        if is_secret(cur) {
            was_secret = true;
            cur = unwrap_secret(cur);
        }
        Some((cur, was_secret))
    }

    /// Sets the value at this path in `new` back to its value in `old` (removes
    /// it when `old` has none). False when the path cannot be followed.
    ///
    /// Mirrors `PropertyPath.Reset` (used by `processIgnoreChanges`).
    pub fn reset(&self, old: &Json, new: &mut Json) -> bool {
        reset(&self.0, old, new, false, false)
    }
}

/// `strconv.ParseInt(s, 10, 0)`: optional sign, decimal digits, nothing else.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn unwrap_secret_mut(v: &mut Json) -> (&mut Json, bool) {
    if is_secret(v) {
        let inner = v
            .as_object_mut()
            .and_then(|m| m.get_mut("value"))
            .expect("a secret wrapper has a value");
        let (inner, _) = unwrap_secret_mut(inner);
        (inner, true)
    } else {
        (v, false)
    }
}

fn reset(p: &[Element], old: &Json, new: &mut Json, old_secret: bool, new_secret: bool) -> bool {
    let Some(key) = p.first() else {
        return false;
    };
    let old_is = is_secret(old);
    let old = if old_is { unwrap_secret(old) } else { old };
    let old_secret = old_secret || old_is;
    let (new, new_is) = unwrap_secret_mut(new);
    let new_secret = new_secret || new_is;
    let mark = |v: &Json| {
        if old_secret && !new_secret {
            secret(v.clone())
        } else {
            v.clone()
        }
    };
    let leaf = p.len() == 1;
    match key {
        Element::Index(i) => {
            if *i < 0 {
                return false;
            }
            let i = *i as usize;
            match (old, new) {
                (Json::Array(o), Json::Array(n)) => {
                    if leaf {
                        if i >= o.len() && i >= n.len() {
                            return true;
                        }
                        if i >= o.len() || i >= n.len() {
                            return false;
                        }
                        n[i] = mark(&o[i]);
                        return true;
                    }
                    if i >= o.len() || i >= n.len() {
                        return false;
                    }
                    reset(&p[1..], &o[i], &mut n[i], old_secret, new_secret)
                }
                (o, n) => !o.is_array() && !n.is_array(),
            }
        }
        Element::Key(k) if k == "*" => {
            if leaf {
                return match (old, new) {
                    (o, Json::Object(n)) => {
                        if let Json::Object(o) = o {
                            for (k, v) in o {
                                n.insert(k.clone(), mark(v));
                            }
                            n.retain(|k, _| o.contains_key(k));
                        }
                        true
                    }
                    (o, Json::Array(n)) => {
                        if let Json::Array(o) = o {
                            for (i, v) in o.iter().enumerate() {
                                if i >= n.len() {
                                    break;
                                }
                                n[i] = mark(v);
                            }
                            if o.len() != n.len() {
                                return false;
                            }
                        }
                        true
                    }
                    _ => false,
                };
            }
            match (old, new) {
                (Json::Object(o), Json::Object(n)) => {
                    for (k, ov) in o {
                        let Some(nv) = n.get_mut(k) else {
                            return false;
                        };
                        if !reset(&p[1..], ov, nv, old_secret, new_secret) {
                            return false;
                        }
                    }
                    true
                }
                (Json::Array(o), Json::Array(n)) => {
                    for (i, ov) in o.iter().enumerate() {
                        if i >= n.len() {
                            break;
                        }
                        if !reset(&p[1..], ov, &mut n[i], old_secret, new_secret) {
                            return false;
                        }
                    }
                    o.len() == n.len()
                }
                _ => false,
            }
        }
        Element::Key(k) => {
            if leaf {
                let v = old.as_object().and_then(|o| o.get(k));
                match (v, new) {
                    (Some(v), Json::Object(n)) => {
                        n.insert(k.clone(), mark(v));
                        true
                    }
                    (Some(_), _) => false,
                    (None, Json::Object(n)) => {
                        n.remove(k);
                        true
                    }
                    (None, _) => true,
                }
            } else {
                match (old, new) {
                    (Json::Object(o), Json::Object(n)) => match (o.get(k), n.get_mut(k)) {
                        (Some(_), None) => false,
                        (None, None) => true,
                        (Some(ov), Some(nv)) => reset(&p[1..], ov, nv, old_secret, new_secret),
                        (None, Some(nv)) => reset(&p[1..], &Json::Null, nv, old_secret, new_secret),
                    },
                    (o, n) => !o.is_object() && !n.is_object(),
                }
            }
        }
    }
}

/// Renders a path the way the engine does (`PropertyPath.String`): keys made of
/// ASCII letters, digits and `_` bare, any other key as `["..."]` with `"` escaped.
impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            match e {
                Element::Index(n) => write!(f, "[{n}]")?,
                Element::Key(k) => {
                    let quoted = k.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '_'));
                    if quoted {
                        write!(f, "[\"{}\"]", k.replace('"', "\\\""))?;
                    } else if i == 0 {
                        write!(f, "{k}")?;
                    } else {
                        write!(f, ".{k}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(p: &str) -> Vec<Element> {
        PropertyPath::parse(p).unwrap().0
    }
    fn k(s: &str) -> Element {
        Element::Key(s.to_string())
    }

    #[test]
    fn parses_the_documented_examples() {
        assert_eq!(keys("root"), [k("root")]);
        assert_eq!(keys("root.nested"), [k("root"), k("nested")]);
        assert_eq!(keys("root[\"nested\"]"), [k("root"), k("nested")]);
        assert_eq!(
            keys("root.array[0][1].nested"),
            [
                k("root"),
                k("array"),
                Element::Index(0),
                Element::Index(1),
                k("nested")
            ]
        );
        assert_eq!(
            keys(r#"root["key with \"escaped\" quotes"]"#),
            [k("root"), k("key with \"escaped\" quotes")]
        );
        assert_eq!(
            keys("[\"root key with a .\"][100]"),
            [k("root key with a ."), Element::Index(100)]
        );
        assert_eq!(
            keys("root.array[*].field"),
            [k("root"), k("array"), k("*"), k("field")]
        );
        assert_eq!(
            keys("root.array[\"*\"].field"),
            [k("root"), k("array"), k("*"), k("field")]
        );
        // A bare name is anything up to the next '.' or '['.
        assert_eq!(keys("foo-bar"), [k("foo-bar")]);
        assert_eq!(keys("ctx.src/a b.sh"), [k("ctx"), k("src/a b"), k("sh")]);
        assert_eq!(keys("a.[0]"), [k("a"), Element::Index(0)]);
        assert_eq!(keys("ünï"), [k("ünï")]);
    }

    #[test]
    fn rejects_what_the_engine_rejects() {
        for bad in [
            ".a",
            "a.",
            "a[",
            "a[0",
            "a[x]",
            "a[\"x",
            "a[\"x\"",
            "a[\"x\"x]",
            // A quoted key cannot end in a backslash: `\"` is an escaped quote.
            r#"context["src\"]"#,
        ] {
            assert!(PropertyPath::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn display_round_trips_any_key_without_a_trailing_backslash() {
        for key in [
            "plain",
            "src/app.sh",
            "a\"b",
            "we[ird]",
            "dot.ted",
            "sp ace",
            "ü",
            "back\\slash",
        ] {
            let p = PropertyPath(vec![k("files"), k(key)]);
            assert_eq!(PropertyPath::parse(&p.to_string()).unwrap(), p, "{p}");
        }
    }

    #[test]
    fn contains_with_wildcards() {
        let p = |s: &str| PropertyPath::parse(s).unwrap();
        assert!(p("foo[\"bar\"][1]").contains(&p("foo.bar[1].baz")));
        assert!(p("foo.*.baz").contains(&p("foo.bar.baz.bam")));
        assert!(p("*").contains(&p("anything[3]")));
        assert!(!p("foo.bar").contains(&p("foo")));
        assert!(!p("foo[1]").contains(&p("foo.x")));
    }

    #[test]
    fn reset_restores_old_values_like_ignore_changes() {
        let old =
            json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "s": secret(json!("x")), "m": {"k.y": 1}});
        let mut new =
            json!({"a": {"b": 9, "c": 9}, "l": [5, 6], "s": "y", "m": {"k.y": 2}, "gone": 1});
        for p in ["a.b", "l[*]", "s", "m[\"k.y\"]", "gone"] {
            assert!(PropertyPath::parse(p).unwrap().reset(&old, &mut new), "{p}");
        }
        assert_eq!(
            new,
            json!({"a": {"b": 1, "c": 9}, "l": [1, 2], "s": secret(json!("x")), "m": {"k.y": 1}})
        );
        // An element that exists on one side only cannot be reset.
        let mut grown = json!({"l": [1, 2, 3]});
        assert!(!PropertyPath::parse("l[2]")
            .unwrap()
            .reset(&json!({"l": [1]}), &mut grown));
    }
}
