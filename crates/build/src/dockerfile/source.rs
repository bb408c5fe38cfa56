//! Maps an instruction's joined text back to the physical lines it came
//! from. BuildKit joins continuation lines (escape character at the end,
//! comment and blank lines in between skipped) before it splits words, so a
//! word can only be edited in place, with every other line where it was,
//! by knowing which bytes of which line each piece of the joined text is.

use std::ops::Range;

/// A run of joined text copied from one physical line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    /// Offset in the joined text.
    joined: usize,
    /// 0-based physical line.
    line: usize,
    /// Byte offset in that line.
    column: usize,
    len: usize,
}

/// One instruction's text as BuildKit reads it, with where each byte came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct JoinedLine {
    pub text: String,
    pieces: Vec<Piece>,
}

impl JoinedLine {
    fn push(&mut self, line: usize, column: usize, part: &str) {
        self.pieces.push(Piece {
            joined: self.text.len(),
            line,
            column,
            len: part.len(),
        });
        self.text.push_str(part);
    }

    /// Replaces the bytes `range` of the joined text in `lines` (the file's
    /// lines, each with its line end). The last physical piece of the range
    /// becomes `with` (non-empty) and earlier pieces are removed, so every
    /// line keeps its content or its continuation character: no line
    /// becomes blank, and none is added or removed.
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

/// Whitespace BuildKit splits words on.
pub(crate) fn is_word_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r')
}

/// Byte ranges of the whitespace-separated words of `text`.
pub(crate) fn words(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word_space(c), start) {
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(s: &str) -> bool {
    s.trim_start().starts_with('#')
}

/// The line without a trailing, unescaped escape character (and blanks
/// after it), when it continues on the next line.
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let before = trimmed.strip_suffix(escape)?;
    if before.is_empty() || !before.ends_with(escape) {
        Some(before)
    } else {
        None
    }
}

/// The instruction starting on 1-based line `start` of `lines` (the file
/// split after each `\n`), joined the way BuildKit joins it.
pub(crate) fn joined_line(lines: &[&str], start: usize, escape: char) -> Option<JoinedLine> {
    let index = start.checked_sub(1)?;
    let mut first = trim_newline(lines.get(index)?);
    let mut column = 0;
    if index == 0 {
        if let Some(rest) = first.strip_prefix('\u{feff}') {
            column += '\u{feff}'.len_utf8();
            first = rest;
        }
    }
    let trimmed = first.trim_start();
    column += first.len() - trimmed.len();
    let mut out = JoinedLine::default();
    let Some(part) = strip_continuation(trimmed, escape) else {
        out.push(index, column, trimmed);
        return Some(out);
    };
    out.push(index, column, part);
    for (line, raw) in lines.iter().enumerate().skip(index + 1) {
        let raw = trim_newline(raw);
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
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        text.split_inclusive('\n').collect()
    }

    #[test]
    fn joins_like_buildkit() {
        let text = "  RUN a \\\r\n  # inner\r\n\r\n  b\\  \r\n c\r\nFROM x\n";
        let joined = joined_line(&split(text), 1, '\\').expect("line");
        assert_eq!(joined.text, "RUN a   b c");
        let joined = joined_line(&split(text), 6, '\\').expect("line");
        assert_eq!(joined.text, "FROM x");
    }

    #[test]
    fn comment_inside_a_continuation_is_skipped() {
        let text = "FROM a\\\n# c\n  AS x\n";
        let lines = split(text);
        let joined = joined_line(&lines, 1, '\\').expect("line");
        assert_eq!(joined.text, "FROM a  AS x");
        let mut owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        joined.replace(&mut owned, words(&joined.text)[1].clone(), "a@sha256:1");
        assert_eq!(owned.concat(), "FROM a@sha256:1\\\n# c\n  AS x\n");
    }

    #[test]
    fn word_split_across_a_continuation() {
        let text = "FROM --platform=linux/amd64 gol\\\nang:1\nRUN x\n";
        let lines = split(text);
        let joined = joined_line(&lines, 1, '\\').expect("line");
        assert_eq!(joined.text, "FROM --platform=linux/amd64 golang:1");
        let word = words(&joined.text)[2].clone();
        let mut owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        joined.replace(&mut owned, word, "golang@sha256:abc");
        assert_eq!(
            owned.concat(),
            "FROM --platform=linux/amd64 \\\ngolang@sha256:abc\nRUN x\n"
        );
    }

    #[test]
    fn byte_order_mark_and_backtick_escape() {
        let text = "\u{feff}FROM a `\n AS b\n";
        let joined = joined_line(&split(text), 1, '`').expect("line");
        assert_eq!(joined.text, "FROM a  AS b");
        let mut owned: Vec<String> = split(text).iter().map(|l| l.to_string()).collect();
        joined.replace(&mut owned, 5..6, "c@sha256:1");
        assert_eq!(owned.concat(), "\u{feff}FROM c@sha256:1 `\n AS b\n");
    }
}
