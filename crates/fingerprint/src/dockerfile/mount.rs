//! `RUN --mount=...` specifications. Only what the plan needs is typed
//! (type, from, source, target, id); the rest is kept for completeness.

use super::error::ParseError;

/// Mount type of a `RUN --mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

/// One `RUN --mount=` as written (values not yet variable-substituted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub id: Option<String>,
    /// Every other `key[=value]` field, in order.
    pub options: Vec<(String, Option<String>)>,
}

/// Splits a CSV field list, honouring double quotes like Go's csv reader.
fn csv_fields(value: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() {
            in_quotes = true;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if in_quotes {
        return Err(format!("extraneous or missing \" in quoted-field: {value}"));
    }
    fields.push(cur);
    Ok(fields)
}

const KNOWN_KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "id",
    "readonly",
    "ro",
    "rw",
    "readwrite",
    "required",
    "mode",
    "uid",
    "gid",
    "sharing",
    "size",
    "env",
];

/// Parses the value of one `--mount` flag.
pub(crate) fn parse_mount(value: &str, line: usize) -> Result<Mount, ParseError> {
    let fields = csv_fields(value).map_err(|m| ParseError::syntax(line, m))?;
    let mut mount = Mount {
        kind: MountType::Bind,
        from: None,
        source: None,
        target: None,
        id: None,
        options: Vec::new(),
    };
    for field in fields {
        let field = field.trim();
        if field.is_empty() {
            continue;
        }
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (field.to_ascii_lowercase(), None),
        };
        if !KNOWN_KEYS.contains(&key.as_str()) {
            return Err(ParseError::syntax(
                line,
                format!("unexpected key '{key}' in '{field}'"),
            ));
        }
        match (key.as_str(), val) {
            ("type", Some(t)) => {
                mount.kind = match t.to_ascii_lowercase().as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    _ => {
                        return Err(ParseError::syntax(
                            line,
                            format!("unsupported mount type \"{t}\""),
                        ))
                    }
                }
            }
            ("from", Some(v)) => mount.from = Some(v),
            ("source" | "src", Some(v)) => mount.source = Some(v),
            ("target" | "dst" | "destination", Some(v)) => mount.target = Some(v),
            ("id", Some(v)) => mount.id = Some(v),
            (
                "type" | "from" | "source" | "src" | "target" | "dst" | "destination" | "id",
                None,
            ) => {
                return Err(ParseError::syntax(
                    line,
                    format!("invalid field '{field}' must be a key=value pair"),
                ))
            }
            (k, v) => mount.options.push((k.to_string(), v)),
        }
    }
    Ok(mount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields() {
        let m = parse_mount(
            "type=cache,target=/root/.cache,from=builder,sharing=locked",
            1,
        )
        .unwrap();
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.from.as_deref(), Some("builder"));
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        let m = parse_mount("target=/src,ro", 1).unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert_eq!(m.source, None);
        let m = parse_mount("type=secret,id=npm,dst=/n", 1).unwrap();
        assert_eq!(m.id.as_deref(), Some("npm"));
        assert!(parse_mount("type=nfs", 1).is_err());
        assert!(parse_mount("bogus=1", 1).is_err());
        assert!(
            parse_mount("\"source=a,b\",target=/x", 1)
                .unwrap()
                .source
                .as_deref()
                == Some("a,b")
        );
    }
}
