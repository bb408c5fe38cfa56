//! Physical lines -> logical instructions: parser directives, comments, blank
//! lines, line continuations with the active escape character, CRLF, and
//! heredoc bodies. Content is kept byte for byte, and each instruction's
//! joined text remembers which bytes of which physical line it came from
//! ([`Joined`]), so a word of it can be edited in place in the file.

use std::ops::Range;

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
    /// The joined instruction text (continuations removed, comments dropped)
    /// with the position of each byte.
    pub source: Joined,
    pub heredocs: Vec<Heredoc>,
}

/// A run of joined text copied from one physical line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Offset in the joined text.
    joined: usize,
    /// 0-based physical line.
    line: usize,
    /// Byte offset in that line.
    column: usize,
    len: usize,
}

/// An instruction's text as BuildKit reads it (continuation lines joined,
/// comment and blank lines inside it skipped), with where each byte came
/// from in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Joined {
    /// The joined text.
    pub text: String,
    pieces: Vec<Piece>,
}

impl Joined {
    fn push(&mut self, line: usize, column: usize, part: &str) {
        self.pieces.push(Piece {
            joined: self.text.len(),
            line,
            column,
            len: part.len(),
        });
        self.text.push_str(part);
    }

    /// Replaces the bytes `range` of the joined text in `lines` (the file
    /// split after each `\n`, each line with its line end). The last
    /// physical piece of the range becomes `with` (non-empty) and earlier
    /// pieces are removed, so every line keeps its content or its
    /// continuation character: no line becomes blank, and none is added or
    /// removed.
    pub fn replace(&self, lines: &mut [String], range: Range<usize>, with: &str) {
        let mut edits: Vec<(usize, Range<usize>)> = Vec::new();
        for piece in &self.pieces {
            let start = range.start.max(piece.joined);
            let end = range.end.min(piece.joined + piece.len);
            if start < end {
                let at = piece.column + (start - piece.joined);
                edits.push((piece.line, at..at + (end - start)));
            }
        }
        // Last piece first: it gets the text, and earlier offsets stay valid.
        for (n, (line, bytes)) in edits.into_iter().rev().enumerate() {
            let text = if n == 0 { with } else { "" };
            if let Some(line) = lines.get_mut(line) {
                if line.is_char_boundary(bytes.start) && line.is_char_boundary(bytes.end) {
                    line.replace_range(bytes, text);
                }
            }
        }
    }
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

/// Physical line `index` without its line end and, on the first line, the
/// byte order mark; with the byte offset of what is left.
fn physical_line<'a>(physical: &[&'a str], index: usize) -> (&'a str, usize) {
    let line = trim_newline(physical[index]);
    match line.strip_prefix('\u{feff}') {
        Some(rest) if index == 0 => (rest, '\u{feff}'.len_utf8()),
        _ => (line, 0),
    }
}

/// Joins the instruction whose first line is `physical[index]`; returns it
/// and the index of the first line after it.
fn join(physical: &[&str], index: usize, escape: char) -> (Joined, usize) {
    let (first, mut column) = physical_line(physical, index);
    let trimmed = first.trim_start();
    column += first.len() - trimmed.len();
    let mut out = Joined::default();
    let Some(part) = strip_continuation(trimmed, escape) else {
        out.push(index, column, trimmed);
        return (out, index + 1);
    };
    out.push(index, column, part);
    let mut next = index + 1;
    while next < physical.len() {
        let raw = trim_newline(physical[next]);
        let line = next;
        next += 1;
        if is_comment(raw) || raw.trim_start().is_empty() {
            continue;
        }
        match strip_continuation(raw, escape) {
            Some(part) => out.push(line, 0, part),
            None => {
                out.push(line, 0, raw);
                break;
            }
        }
    }
    (out, next)
}

/// Reads the whole file. `wants_heredocs` says whether a logical line is an
/// instruction that may carry heredocs (RUN/COPY/ADD in shell form).
pub(crate) fn read_lines(
    text: &str,
    wants_heredocs: impl Fn(&str, char) -> bool,
) -> Result<(Directives, Vec<LogicalLine>), ParseError> {
    let physical: Vec<&str> = text.split_inclusive('\n').collect();
    let mut directives = Directives::default();
    let mut scanner = DirectiveScanner::default();
    let mut out = Vec::new();
    let mut i = 0;
    while i < physical.len() {
        let start = i + 1;
        let first = physical_line(&physical, i).0.trim_start();
        if scanner.scan(first, start, &mut directives)? || is_comment(first) {
            i += 1;
            continue;
        }
        let (source, next) = join(&physical, i, directives.escape);
        i = next;
        if source.text.trim().is_empty() {
            continue;
        }
        let mut heredocs = Vec::new();
        if wants_heredocs(&source.text, directives.escape) {
            for mut h in markers_in_line(&source.text) {
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
            source,
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
        assert_eq!(l[1].source.text, "RUN a   b c");
    }

    #[test]
    fn escaped_escape_is_not_a_continuation() {
        let l = read("RUN echo \\\\\nFROM x\n");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].source.text, "RUN echo \\\\");
    }

    #[test]
    fn backtick_escape() {
        let (d, l) = read_lines("# escape=`\nRUN a `\n b\\\nFROM c\n", |_, _| false).unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(l[0].source.text, "RUN a  b\\");
        assert_eq!(l[1].source.text, "FROM c");
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

    fn split(text: &str) -> Vec<&str> {
        text.split_inclusive('\n').collect()
    }

    #[test]
    fn joined_text_edits_in_place() {
        let text = "FROM a\\\n# c\n  AS x\n";
        let l = read(text);
        assert_eq!(l[0].source.text, "FROM a  AS x");
        let mut owned: Vec<String> = split(text).iter().map(|l| l.to_string()).collect();
        l[0].source.replace(&mut owned, 5..6, "a@sha256:1");
        assert_eq!(owned.concat(), "FROM a@sha256:1\\\n# c\n  AS x\n");
    }

    #[test]
    fn word_split_across_a_continuation() {
        let text = "FROM --platform=linux/amd64 gol\\\nang:1\nRUN x\n";
        let l = read(text);
        assert_eq!(l[0].source.text, "FROM --platform=linux/amd64 golang:1");
        let mut owned: Vec<String> = split(text).iter().map(|l| l.to_string()).collect();
        l[0].source.replace(&mut owned, 28..36, "golang@sha256:abc");
        assert_eq!(
            owned.concat(),
            "FROM --platform=linux/amd64 \\\ngolang@sha256:abc\nRUN x\n"
        );
    }

    #[test]
    fn byte_order_mark_keeps_positions() {
        let text = "\u{feff}# escape=`\n  FROM a `\n AS b\n";
        let (d, l) = read_lines(text, |_, _| false).unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(l[0].source.text, "FROM a  AS b");
        let mut owned: Vec<String> = split(text).iter().map(|l| l.to_string()).collect();
        l[0].source.replace(&mut owned, 5..6, "c@sha256:1");
        assert_eq!(
            owned.concat(),
            "\u{feff}# escape=`\n  FROM c@sha256:1 `\n AS b\n"
        );
        let l = read("\u{feff}FROM a\n");
        let mut owned = vec!["\u{feff}FROM a\n".to_string()];
        l[0].source.replace(&mut owned, 5..6, "b");
        assert_eq!(owned.concat(), "\u{feff}FROM b\n");
    }
}
