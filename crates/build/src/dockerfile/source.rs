//! Words of an instruction's joined text, split as BuildKit splits them.
//! The parser joins continuation lines and keeps where each byte came from
//! (`Instruction::source`), so a word found here can be edited in place.

use std::ops::Range;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_buildkit_whitespace() {
        let text = "FROM\t a\x0bb  AS x\r";
        let found: Vec<&str> = words(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["FROM", "a", "b", "AS", "x"]);
        assert!(words("  ").is_empty());
    }
}
