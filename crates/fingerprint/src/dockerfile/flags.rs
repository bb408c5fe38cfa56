//! Instruction flags (`--from=builder`, `--link`, `--mount=...`): how they are
//! cut off the front of the arguments, validated per instruction, and written
//! back in a canonical form (`--name=value`, booleans as `--name`).

use super::error::ParseError;

/// A flag as written after quote removal: `--name=value` or `--name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    /// None for a bare `--name`.
    pub value: Option<String>,
}

/// Splits leading `--flag` words off `line`; returns (flags, rest).
/// A lone `--` ends the flags. Quotes and backslashes inside flag words are
/// interpreted, as the Dockerfile parser does.
pub(crate) fn extract_flags(line: &str) -> (Vec<String>, &str) {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut iter = line.char_indices().peekable();
    while let Some((pos, ch)) = iter.next() {
        if !in_word {
            if ch.is_whitespace() {
                continue;
            }
            let next_dash = line[pos + ch.len_utf8()..].starts_with('-');
            if ch != '-' || !next_dash {
                return (words, &line[pos..]);
            }
            in_word = true;
        }
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            } else if ch == '\\' {
                match iter.next() {
                    Some((_, n)) => word.push(n),
                    None => quote = None,
                }
            } else {
                word.push(ch);
            }
            continue;
        }
        if ch.is_whitespace() {
            if word == "--" {
                return (words, &line[pos..]);
            }
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.clear();
            blank_ok = false;
            in_word = false;
            continue;
        }
        match ch {
            '\'' | '"' => {
                quote = Some(ch);
                blank_ok = true;
            }
            '\\' => {
                if let Some((_, n)) = iter.next() {
                    word.push(n);
                }
            }
            _ => word.push(ch),
        }
    }
    if in_word && word != "--" && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    (words, "")
}

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    Bool,
    String,
    /// May be repeated (`--mount`, `--exclude`).
    Strings,
}

/// Validates raw flag words against the flags an instruction accepts.
pub(crate) fn parse_flags(
    raw: &[String],
    allowed: &[(&str, FlagKind)],
    line: usize,
) -> Result<Vec<Flag>, ParseError> {
    let mut out: Vec<Flag> = Vec::new();
    for word in raw {
        let body = word.strip_prefix("--").unwrap_or(word);
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let name_lc = name.to_ascii_lowercase();
        let Some((_, kind)) = allowed.iter().find(|(n, _)| *n == name_lc) else {
            return Err(ParseError::UnknownFlag {
                line,
                flag: name.to_string(),
            });
        };
        let value = match kind {
            FlagKind::Bool => match value.as_deref() {
                None => Some("true".to_string()),
                Some(v) if v.eq_ignore_ascii_case("true") => Some("true".to_string()),
                Some(v) if v.eq_ignore_ascii_case("false") => Some("false".to_string()),
                Some(v) => {
                    return Err(ParseError::syntax(
                        line,
                        format!("expecting boolean value for flag {name_lc}, not: {v}"),
                    ))
                }
            },
            FlagKind::String | FlagKind::Strings => match value {
                Some(v) => Some(v),
                None => {
                    return Err(ParseError::syntax(
                        line,
                        format!("missing a value on flag: {name_lc}"),
                    ))
                }
            },
        };
        if *kind != FlagKind::Strings && out.iter().any(|f| f.name == name_lc) {
            return Err(ParseError::syntax(
                line,
                format!("duplicate flag specified: {name_lc}"),
            ));
        }
        out.push(Flag {
            name: name_lc,
            value,
        });
    }
    Ok(out)
}

/// Last value of a single-valued flag.
pub(crate) fn flag_value(flags: &[Flag], name: &str) -> Option<String> {
    flags
        .iter()
        .rev()
        .find(|f| f.name == name)
        .and_then(|f| f.value.clone())
}

/// Whether a boolean flag is set to true.
pub(crate) fn flag_bool(flags: &[Flag], name: &str) -> bool {
    flag_value(flags, name).as_deref() == Some("true")
}

/// Every value of a repeatable flag, in order.
pub(crate) fn flag_values(flags: &[Flag], name: &str) -> Vec<String> {
    flags
        .iter()
        .filter(|f| f.name == name)
        .filter_map(|f| f.value.clone())
        .collect()
}

/// Canonical rendering: booleans as `--name` (false ones dropped), values
/// quoted only when they contain whitespace or quotes.
pub(crate) fn render_flags(flags: &[Flag], kinds: &[(&str, FlagKind)]) -> String {
    let mut out = String::new();
    for f in flags {
        let kind = kinds
            .iter()
            .find(|(n, _)| *n == f.name)
            .map(|(_, k)| *k)
            .unwrap_or(FlagKind::String);
        match (kind, f.value.as_deref()) {
            (FlagKind::Bool, Some("false")) => continue,
            (FlagKind::Bool, _) => {
                out.push_str(" --");
                out.push_str(&f.name);
            }
            (_, v) => {
                out.push_str(" --");
                out.push_str(&f.name);
                out.push('=');
                out.push_str(&quote_if_needed(v.unwrap_or("")));
            }
        }
    }
    out
}

fn quote_if_needed(v: &str) -> String {
    if v.chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_leading_flags_only() {
        let (f, rest) = extract_flags("--from=build  --chown=\"a b\" src --x dst");
        assert_eq!(f, vec!["--from=build", "--chown=a b"]);
        assert_eq!(rest, "src --x dst");
        let (f, rest) = extract_flags("--link -- --weird dst");
        assert_eq!(f, vec!["--link"]);
        assert_eq!(rest.trim(), "--weird dst");
        let (f, rest) = extract_flags("--mount=type=cache,target=/x");
        assert_eq!(f, vec!["--mount=type=cache,target=/x"]);
        assert_eq!(rest, "");
    }

    #[test]
    fn validates() {
        let allowed = [("link", FlagKind::Bool), ("from", FlagKind::String)];
        let f = parse_flags(&["--link".into(), "--FROM=x".into()], &allowed, 3).unwrap();
        assert!(flag_bool(&f, "link"));
        assert_eq!(flag_value(&f, "from").as_deref(), Some("x"));
        assert_eq!(
            parse_flags(&["--nope".into()], &allowed, 3)
                .unwrap_err()
                .to_string(),
            "line 3: unknown flag: nope"
        );
        assert!(parse_flags(&["--from".into()], &allowed, 3).is_err());
        assert!(parse_flags(&["--link=maybe".into()], &allowed, 3).is_err());
        assert!(parse_flags(&["--from=a".into(), "--from=b".into()], &allowed, 3).is_err());
    }
}
