//! Physical lines -> logical instructions: parser directives, comments, blank
//! lines, line continuations with the active escape character, CRLF, and
//! heredoc bodies. Layout is dropped here; content is kept byte for byte.

use super::directives::{DirectiveScanner, Directives};
use super::error::ParseError;
use super::heredoc::{markers_in_line, Heredoc};

/// One instruction as BuildKit's line reader produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalLine {
    /// 1-based line where the instruction starts.
    pub start: usize,
    /// 1-based line where it ends (last continuation or heredoc terminator).
    pub end: usize,
    /// The joined instruction text (continuations removed, comments dropped).
    pub text: String,
    pub heredocs: Vec<Heredoc>,
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(s: &str) -> bool {
    s.trim_start().starts_with('#')
}

/// If the line ends with the escape character (optionally followed by spaces
/// or tabs) that is not itself escaped, returns the line without it.
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let before = trimmed.strip_suffix(escape)?;
    if before.is_empty() || !before.ends_with(escape) {
        Some(before)
    } else {
        None
    }
}

/// Reads the whole file. `wants_heredocs` says whether a logical line is an
/// instruction that may carry heredocs (RUN/COPY/ADD in shell form).
pub(crate) fn read_lines(
    text: &str,
    wants_heredocs: impl Fn(&str, char) -> bool,
) -> Result<(Directives, Vec<LogicalLine>), ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let physical: Vec<&str> = text.split_inclusive('\n').collect();
    let mut directives = Directives::default();
    let mut scanner = DirectiveScanner::default();
    let mut out = Vec::new();
    let mut i = 0;
    while i < physical.len() {
        let start = i + 1;
        let first = trim_newline(physical[i]).trim_start();
        i += 1;
        if scanner.scan(first, start, &mut directives)? || is_comment(first) {
            continue;
        }
        let escape = directives.escape;
        let mut buf = String::new();
        match strip_continuation(first, escape) {
            None => buf.push_str(first),
            Some(part) => {
                buf.push_str(part);
                while i < physical.len() {
                    let raw = trim_newline(physical[i]);
                    i += 1;
                    if is_comment(raw) || raw.trim_start().is_empty() {
                        continue;
                    }
                    match strip_continuation(raw, escape) {
                        Some(part) => buf.push_str(part),
                        None => {
                            buf.push_str(raw);
                            break;
                        }
                    }
                }
            }
        }
        if buf.trim().is_empty() {
            continue;
        }
        let mut heredocs = Vec::new();
        if wants_heredocs(&buf, escape) {
            for mut h in markers_in_line(&buf) {
                let mut terminated = false;
                while i < physical.len() {
                    let raw = physical[i];
                    i += 1;
                    let candidate = trim_newline(raw);
                    let candidate = if h.chomp {
                        candidate.trim_start_matches('\t')
                    } else {
                        candidate
                    };
                    if candidate == h.name {
                        terminated = true;
                        break;
                    }
                    h.content.push_str(raw);
                }
                if !terminated {
                    return Err(ParseError::UnterminatedHeredoc { line: start });
                }
                heredocs.push(h);
            }
        }
        out.push(LogicalLine {
            start,
            end: i.max(start),
            text: buf,
            heredocs,
        });
    }
    Ok((directives, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<LogicalLine> {
        read_lines(text, |l, _| l.starts_with("RUN")).unwrap().1
    }

    #[test]
    fn joins_continuations_and_skips_comments() {
        let l = read("FROM a\r\n\r\n# c\r\nRUN a \\\r\n  # inner\r\n\r\n  b\\\r\n c\r\n");
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].start, 4);
        assert_eq!(l[1].end, 8);
        assert_eq!(l[1].text, "RUN a   b c");
    }

    #[test]
    fn escaped_escape_is_not_a_continuation() {
        let l = read("RUN echo \\\\\nFROM x\n");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].text, "RUN echo \\\\");
    }

    #[test]
    fn backtick_escape() {
        let (d, l) = read_lines("# escape=`\nRUN a `\n b\\\nFROM c\n", |_, _| false).unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(l[0].text, "RUN a  b\\");
        assert_eq!(l[1].text, "FROM c");
    }

    #[test]
    fn heredoc_bodies() {
        let l = read("RUN <<A <<-B\nx\r\nA\n\ty\n\tB\nFROM z\n");
        assert_eq!(l[0].heredocs.len(), 2);
        assert_eq!(l[0].heredocs[0].content, "x\r\n");
        assert_eq!(l[0].heredocs[1].content, "\ty\n");
        assert_eq!(l[0].end, 5);
        assert_eq!(l[1].start, 6);
        assert!(matches!(
            read_lines("RUN <<A\nx\n", |_, _| true),
            Err(ParseError::UnterminatedHeredoc { line: 1 })
        ));
    }
}
