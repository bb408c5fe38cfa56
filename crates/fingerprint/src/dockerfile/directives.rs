//! Parser directives (`# syntax=`, `# escape=`, `# check=`).
//!
//! They are only recognised at the very top of the file: the first line that
//! is not a directive (a plain comment, a blank line, an instruction) ends the
//! directive block, exactly as BuildKit does. The escape directive changes how
//! every later line is read, so it is applied as soon as it is seen.

use super::error::ParseError;

/// Parser directives found at the top of the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` value (the frontend image), trimmed.
    pub syntax: Option<String>,
    /// Active escape character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# check=` value (lint configuration; does not affect the image).
    pub check: Option<String>,
    /// Line of each directive that was set, for diagnostics and the plan.
    pub lines: Vec<(String, usize)>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
            lines: Vec::new(),
        }
    }
}

/// Recognises directives line by line until the first non-directive line.
#[derive(Debug, Default)]
pub(crate) struct DirectiveScanner {
    done: bool,
}

impl DirectiveScanner {
    /// Feeds one physical line (newline and leading whitespace already
    /// trimmed). Returns true when the line was a directive.
    pub(crate) fn scan(
        &mut self,
        line: &str,
        line_no: usize,
        out: &mut Directives,
    ) -> Result<bool, ParseError> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = split_directive(line) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(false);
        }
        if out.lines.iter().any(|(k, _)| *k == key) {
            return Err(ParseError::DuplicateDirective {
                line: line_no,
                name: key,
            });
        }
        match key.as_str() {
            "escape" => {
                out.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(ParseError::InvalidEscape {
                            line: line_no,
                            token: other.to_string(),
                        })
                    }
                }
            }
            "syntax" => out.syntax = Some(value.to_string()),
            _ => out.check = Some(value.to_string()),
        }
        out.lines.push((key, line_no));
        Ok(true)
    }
}

fn is_re_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// Matches `#\s*key\s*=\s*value\s*` with key `[a-zA-Z][a-zA-Z0-9]*` and a
/// non-empty value; returns (key, trimmed value).
fn split_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let key_len = rest
        .char_indices()
        .take_while(|(i, c)| {
            if *i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric()
            }
        })
        .count();
    if key_len == 0 {
        return None;
    }
    // Key characters are ASCII, so the char count is a byte offset.
    let (key, after) = rest.split_at(key_len);
    let after = after.trim_start_matches(is_re_space);
    let value = after.strip_prefix('=')?;
    let value = value
        .trim_start_matches(is_re_space)
        .trim_end_matches(is_re_space);
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(lines: &[&str]) -> Result<Directives, ParseError> {
        let mut d = Directives::default();
        let mut s = DirectiveScanner::default();
        for (i, l) in lines.iter().enumerate() {
            s.scan(l, i + 1, &mut d)?;
        }
        Ok(d)
    }

    #[test]
    fn recognises_keys_case_insensitively_with_whitespace() {
        let d = scan_all(&[
            "#  SYNTAX = docker/dockerfile:1  ",
            "#escape=`",
            "# Check=skip=all",
        ])
        .unwrap();
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(d.escape, '`');
        assert_eq!(d.check.as_deref(), Some("skip=all"));
    }

    #[test]
    fn stops_at_first_non_directive() {
        let d = scan_all(&["# a comment", "# escape=`"]).unwrap();
        assert_eq!(d.escape, '\\');
        let d = scan_all(&["", "# escape=`"]).unwrap();
        assert_eq!(d.escape, '\\');
        let d = scan_all(&["# unknown=1", "# escape=`"]).unwrap();
        assert_eq!(d.escape, '\\');
    }

    #[test]
    fn rejects_duplicates_and_bad_escape() {
        assert!(matches!(
            scan_all(&["# escape=`", "# ESCAPE=\\"]),
            Err(ParseError::DuplicateDirective { line: 2, .. })
        ));
        assert!(matches!(
            scan_all(&["# escape=x"]),
            Err(ParseError::InvalidEscape { line: 1, .. })
        ));
    }
}
