//! Canonical text helpers: what whitespace in a shell-form command may be
//! dropped without changing what the command does.
//!
//! A POSIX shell splits words on unquoted blanks, so runs of unquoted spaces
//! and tabs can be collapsed to one space; that makes re-indented or
//! re-wrapped continuation lines hash the same. Anything this scanner does not
//! fully understand (command substitution inside double quotes, quotes
//! inside `${...}`, an unterminated quote) keeps the command verbatim: a
//! spurious change is acceptable, a missed one is not.

/// Collapses unquoted blank runs of a POSIX shell command; returns the
/// trimmed command unchanged when it cannot be sure that is safe.
pub(crate) fn normalize_posix_command(cmd: &str) -> String {
    let cmd = cmd.trim_matches([' ', '\t']);
    collapse(cmd).unwrap_or_else(|| cmd.to_string())
}

fn collapse(cmd: &str) -> Option<String> {
    let chars: Vec<char> = cmd.chars().collect();
    let mut out = String::with_capacity(cmd.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                while i < chars.len() && matches!(chars[i], ' ' | '\t') {
                    i += 1;
                }
                out.push(' ');
                continue;
            }
            '\\' => {
                out.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                }
                i += 2;
                continue;
            }
            '\'' => {
                let end = find_from(&chars, i + 1, |c| c == '\'')?;
                out.extend(&chars[i..=end]);
                i = end + 1;
                continue;
            }
            '"' => {
                let end = double_quote_end(&chars, i + 1)?;
                out.extend(&chars[i..=end]);
                i = end + 1;
                continue;
            }
            '$' if chars.get(i + 1) == Some(&'\'') => {
                let end = ansi_c_end(&chars, i + 2)?;
                out.extend(&chars[i..=end]);
                i = end + 1;
                continue;
            }
            '$' if chars.get(i + 1) == Some(&'{') => {
                let end = brace_end(&chars, i + 2)?;
                out.extend(&chars[i..=end]);
                i = end + 1;
                continue;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

fn find_from(chars: &[char], from: usize, pred: impl Fn(char) -> bool) -> Option<usize> {
    (from..chars.len()).find(|&j| pred(chars[j]))
}

/// Index of the closing `"`; None (give up) on command substitution inside.
fn double_quote_end(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() {
        match chars[i] {
            '"' => return Some(i),
            '\\' => i += 2,
            '`' => return None,
            '$' if chars.get(i + 1) == Some(&'(') => return None,
            '$' if chars.get(i + 1) == Some(&'{') => {
                i = brace_end(chars, i + 2)? + 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// Index of the `}` closing a `${`; None if quotes or nesting make it unclear.
fn brace_end(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() {
        match chars[i] {
            '}' => return Some(i),
            '"' | '\'' | '`' | '{' => return None,
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Index of the `'` closing a `$'...'` (backslash escapes inside).
fn ansi_c_end(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() {
        match chars[i] {
            '\'' => return Some(i),
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Compact JSON array, the canonical exec form.
pub(crate) fn json_array(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_unquoted_blanks_only() {
        assert_eq!(
            normalize_posix_command("  apt-get update &&     apt-get install \t-y x  "),
            "apt-get update && apt-get install -y x"
        );
        assert_eq!(
            normalize_posix_command(r#"echo "a   b" 'c   d' e\ \ f $'g   h' ${X:-i}   j"#),
            r#"echo "a   b" 'c   d' e\ \ f $'g   h' ${X:-i} j"#
        );
        assert_eq!(
            normalize_posix_command(r#"echo "${HOME}   x"  y"#),
            r#"echo "${HOME}   x" y"#
        );
    }

    #[test]
    fn gives_up_when_unsure() {
        for cmd in [
            r#"echo "$(echo "a   b")"   x"#,
            "echo it's   fine",
            r#"X=${Y:-"a   b"}   z"#,
            r#"echo "`date`"   x"#,
        ] {
            assert_eq!(normalize_posix_command(cmd), cmd);
        }
    }
}
