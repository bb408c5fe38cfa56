//! Reading a `.dockerignore` file into patterns, as Docker's reader does:
//! UTF-8 BOM stripped, `#` lines are comments (only at column one), lines
//! trimmed, paths cleaned, and a leading `/` dropped (patterns are always
//! relative to the context root).

/// One pattern with the 1-based line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub line: usize,
    pub pattern: String,
}

/// Parses the text of an ignore file.
pub fn parse(text: &str) -> Vec<Line> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.starts_with('#') {
            continue;
        }
        let mut pattern = raw.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut normalized = String::new();
        if !pattern.is_empty() {
            normalized = crate::pathclean::clean(pattern);
            if normalized.len() > 1 && normalized.starts_with('/') {
                normalized.remove(0);
            }
        }
        if invert {
            normalized.insert(0, '!');
        }
        out.push(Line {
            line: index + 1,
            pattern: normalized,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(text: &str) -> Vec<String> {
        parse(text).into_iter().map(|l| l.pattern).collect()
    }

    #[test]
    fn reads_like_docker() {
        let text = "\u{feff}# comment\n\n  node_modules/  \r\n/abs/path\n!  /keep/./me\n #not-a-comment\n./x/../y\n";
        assert_eq!(
            patterns(text),
            vec![
                "node_modules",
                "abs/path",
                "!keep/me",
                "#not-a-comment",
                "y"
            ]
        );
        let lines: Vec<usize> = parse(text).into_iter().map(|l| l.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7]);
    }

    #[test]
    fn bare_exclamation_is_kept_for_the_matcher_to_reject() {
        assert_eq!(patterns("!\n"), vec!["!"]);
        assert_eq!(patterns("/\n"), vec!["/"]);
    }
}
