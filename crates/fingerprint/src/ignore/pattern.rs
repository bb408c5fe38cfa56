//! One `.dockerignore` pattern, compiled the way moby's patternmatcher does.
//!
//! Docker turns each pattern into a regular expression, with shortcuts for
//! exact, prefix (`dir/**`) and suffix (`**/name`) patterns. Those shortcuts
//! are observable (`**foo` matches `barfoo`), so we reproduce the same
//! classification and a small automaton for the regular-expression case
//! instead of pulling in a regex engine with different syntax.

use crate::glob;

/// How a pattern is matched (mirrors patternmatcher's match types).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Exact,
    /// `literal/**`: the path starts with the literal part.
    Prefix(String),
    /// `**literal`: the path ends with the literal part.
    Suffix(String),
    Automaton(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`: any one character except `/`.
    NotSlash,
    /// `*`: any run of characters except `/`.
    NotSlashRun,
    /// `**/` in the middle: `(.*/)?`.
    OptionalDirs,
    /// `**` at the end after other wildcards: `.*`.
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// A bare `^` outside a class is a start anchor in Docker's regex.
    StartAnchor,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

/// Why a pattern is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("illegal exclusion pattern: \"!\"")]
    BareExclusion,
    #[error("syntax error in pattern")]
    Syntax,
}

impl Pattern {
    /// Compiles one pattern as patternmatcher's `New` does: trims, cleans,
    /// takes a leading `!` as an exception, and validates with `filepath.Match`.
    /// Returns `None` for a blank pattern.
    pub fn new(raw: &str) -> Result<Option<Pattern>, PatternError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let cleaned = crate::pathclean::clean(trimmed);
        let (exclusion, body) = match cleaned.strip_prefix('!') {
            Some("") => return Err(PatternError::BareExclusion),
            Some(rest) => (true, rest.to_string()),
            None => (false, cleaned),
        };
        glob::validate_pattern(&body).map_err(|_| PatternError::Syntax)?;
        let kind = compile(&body);
        Ok(Some(Pattern {
            cleaned: body,
            exclusion,
            kind,
        }))
    }

    /// The cleaned pattern text, without the `!`.
    pub fn text(&self) -> &str {
        &self.cleaned
    }

    /// Whether this is a `!` exception.
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// The literal text a matching path must start with (empty when the
    /// pattern starts with a wildcard). Used to prove a directory cannot hold
    /// any match.
    pub fn literal_prefix(&self) -> &str {
        if let Kind::Suffix(_) = self.kind {
            return "";
        }
        let bytes = self.cleaned.as_bytes();
        let end = bytes
            .iter()
            .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\' | b'^' | b']'))
            .unwrap_or(bytes.len());
        &self.cleaned[..end]
    }

    /// The pattern with a trailing `/**`, then a trailing `/*`, removed
    /// (fsutil's `patternWithoutTrailingGlob`).
    pub fn without_trailing_glob(&self) -> &str {
        let s = self.cleaned.strip_suffix("/**").unwrap_or(&self.cleaned);
        s.strip_suffix("/*").unwrap_or(s)
    }

    /// Whether the pattern, minus a trailing `**`, has wildcard characters.
    pub fn has_wildcards_besides_trailing_glob(&self) -> bool {
        self.without_trailing_glob()
            .contains(['*', '[', ']', '?', '^', '\\'])
    }

    /// Matches a slash-separated, context-relative path.
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix
                        .strip_prefix('/')
                        .is_some_and(|without_slash| path == without_slash)
            }
            Kind::Automaton(tokens) => run(tokens, path),
        }
    }
}

fn compile(pattern: &str) -> Kind {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut kind = KindTag::Exact;
    let mut i = 0;
    let mut iteration = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if kind == KindTag::Exact {
                        kind = KindTag::Prefix;
                    } else {
                        tokens.push(Token::AnyRun);
                        kind = KindTag::Automaton;
                    }
                } else {
                    tokens.push(Token::OptionalDirs);
                    kind = KindTag::Automaton;
                }
                if iteration == 0 {
                    kind = KindTag::Suffix;
                }
            }
            '*' => {
                tokens.push(Token::NotSlashRun);
                kind = KindTag::Automaton;
            }
            '?' => {
                tokens.push(Token::NotSlash);
                kind = KindTag::Automaton;
            }
            '\\' => match chars.get(i) {
                Some(next) => {
                    tokens.push(Token::Literal(*next));
                    i += 1;
                    kind = KindTag::Automaton;
                }
                None => tokens.push(Token::Literal('\\')),
            },
            '[' => {
                let (token, used) = parse_class(&chars[i..]);
                tokens.push(token);
                i += used;
                kind = KindTag::Automaton;
            }
            ']' => {
                tokens.push(Token::Literal(']'));
                kind = KindTag::Automaton;
            }
            '^' => tokens.push(Token::StartAnchor),
            other => tokens.push(Token::Literal(other)),
        }
        iteration += 1;
    }
    match kind {
        KindTag::Exact => Kind::Exact,
        KindTag::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
        KindTag::Suffix => Kind::Suffix(pattern[2..].to_string()),
        KindTag::Automaton => Kind::Automaton(tokens),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KindTag {
    Exact,
    Prefix,
    Suffix,
    Automaton,
}

/// Parses a class body after `[` (already validated by `filepath.Match`);
/// returns the token and how many characters it used, including `]`.
fn parse_class(chars: &[char]) -> (Token, usize) {
    let mut i = 0;
    let negated = chars.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let escaped = |i: &mut usize| -> Option<char> {
        let mut c = *chars.get(*i)?;
        if c == '\\' {
            *i += 1;
            c = *chars.get(*i)?;
        }
        *i += 1;
        Some(c)
    };
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            i += 1;
            break;
        }
        let Some(lo) = escaped(&mut i) else { break };
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            i += 1;
            match escaped(&mut i) {
                Some(h) => hi = h,
                None => break,
            }
        }
        ranges.push((lo, hi));
    }
    (Token::Class { negated, ranges }, i)
}

/// Simulates the token automaton over `path` (all states at once, so no
/// backtracking blow-up). Like Go's regexp, `.` does not match `\n`.
fn run(tokens: &[Token], path: &str) -> bool {
    let n = tokens.len();
    let mut current = vec![false; n + 1];
    let mut next = vec![false; n + 1];
    current[0] = true;
    close(tokens, &mut current, true);
    for ch in path.chars() {
        next.iter_mut().for_each(|s| *s = false);
        let mut any = false;
        for (state, token) in tokens.iter().enumerate() {
            if !current[state] {
                continue;
            }
            let (stay, advance) = match token {
                Token::Literal(c) => (false, *c == ch),
                Token::NotSlash => (false, ch != '/'),
                Token::NotSlashRun => (ch != '/', false),
                Token::OptionalDirs => (ch != '\n', ch == '/'),
                Token::AnyRun => (ch != '\n', false),
                Token::Class { negated, ranges } => {
                    let inside = ranges.iter().any(|(lo, hi)| *lo <= ch && ch <= *hi);
                    (false, inside != *negated)
                }
                Token::StartAnchor => (false, false),
            };
            if stay {
                next[state] = true;
                any = true;
            }
            if advance {
                next[state + 1] = true;
                any = true;
            }
        }
        if !any {
            return false;
        }
        close(tokens, &mut next, false);
        std::mem::swap(&mut current, &mut next);
    }
    current[n]
}

/// Adds states reachable without consuming input.
fn close(tokens: &[Token], states: &mut [bool], at_start: bool) {
    for i in 0..tokens.len() {
        if !states[i] {
            continue;
        }
        let skippable = match tokens[i] {
            Token::NotSlashRun | Token::OptionalDirs | Token::AnyRun => true,
            Token::StartAnchor => at_start,
            _ => false,
        };
        if skippable {
            states[i + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern)
            .expect("valid pattern")
            .expect("non-blank pattern")
            .matches(path)
    }

    // From moby/patternmatcher's TestMatch table (Unix rows).
    #[test]
    fn patternmatcher_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("**", "file", true),
            ("**", "file/", true),
            ("**/", "file", true),
            ("**/", "file/", true),
            ("**", "/", true),
            ("**/", "/", true),
            ("**", "dir/file", true),
            ("**/", "dir/file", true),
            ("**", "dir/file/", true),
            ("**/", "dir/file/", true),
            ("**/**", "dir/file", true),
            ("**/**", "dir/file/", true),
            ("dir/**", "dir/file", true),
            ("dir/**", "dir/file/", true),
            ("dir/**", "dir/dir2/file", true),
            ("dir/**", "dir/dir2/file/", true),
            ("**/dir", "dir", true),
            ("**/dir", "dir/file", false),
            ("**/dir2/*", "dir/dir2/file", true),
            ("**/dir2/*", "dir/dir2/file/", false),
            ("**/dir2/**", "dir/dir2/dir3/file", true),
            ("**/dir2/**", "dir/dir2/dir3/file/", true),
            ("**file", "file", true),
            ("**file", "dir/file", true),
            ("**/file", "dir/file", true),
            ("**file", "dir/dir/file", true),
            ("**/file", "dir/dir/file", true),
            ("**/file*", "dir/dir/file", true),
            ("**/file*", "dir/dir/file.txt", true),
            ("**/file*txt", "dir/dir/file.txt", true),
            ("**/file*.txt", "dir/dir/file.txt", true),
            ("**/file*.txt*", "dir/dir/file.txt", true),
            ("**/**/*.txt", "dir/dir/file.txt", true),
            ("**/**/*.txt2", "dir/dir/file.txt", false),
            ("**/*.txt", "file.txt", true),
            ("**/**/*.txt", "file.txt", true),
            ("a**/*.txt", "a/file.txt", true),
            ("a**/*.txt", "a/dir/file.txt", true),
            ("a**/*.txt", "a/dir/dir/file.txt", true),
            ("a/*.txt", "a/dir/file.txt", false),
            ("a/*.txt", "a/file.txt", true),
            ("a/*.txt**", "a/file.txt", true),
            ("a[b-d]e", "ae", false),
            ("a[b-d]e", "ace", true),
            ("a[b-d]e", "aae", false),
            ("a[^b-d]e", "aze", true),
            (".*", ".foo", true),
            (".*", "foo", false),
            ("abc.def", "abcdef", false),
            ("abc.def", "abc.def", true),
            ("abc.def", "abcZdef", false),
            ("abc?def", "abcZdef", true),
            ("abc?def", "abcdef", false),
            ("a\\\\", "a\\", true),
            ("**/foo/bar", "foo/bar", true),
            ("**/foo/bar", "dir/foo/bar", true),
            ("**/foo/bar", "dir/dir2/foo/bar", true),
            ("abc/**", "abc", false),
            ("abc/**", "abc/def", true),
            ("abc/**", "abc/def/ghi", true),
            ("**/.foo", ".foo", true),
            ("**/.foo", "bar.foo", false),
            ("a(b)c/def", "a(b)c/def", true),
            ("a(b)c/def", "a(b)c/xyz", false),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
            (
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(m(pattern, path), *want, "pattern {pattern:?} path {path:?}");
        }
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(Pattern::new("!"), Err(PatternError::BareExclusion));
        assert_eq!(Pattern::new("[-]"), Err(PatternError::Syntax));
        assert_eq!(Pattern::new("a["), Err(PatternError::Syntax));
        assert_eq!(Pattern::new("   "), Ok(None));
    }

    #[test]
    fn suffix_shortcut_is_reproduced() {
        // Docker's suffix shortcut makes `**foo` match any path ending in foo.
        assert!(m("**foo", "barfoo"));
        assert!(m("**foo", "a/barfoo"));
    }

    #[test]
    fn literal_prefix_stops_at_wildcards() {
        let p = Pattern::new("src/*.md").unwrap().unwrap();
        assert_eq!(p.literal_prefix(), "src/");
        let p = Pattern::new("**/*.md").unwrap().unwrap();
        assert_eq!(p.literal_prefix(), "");
        let p = Pattern::new("node_modules/**").unwrap().unwrap();
        assert_eq!(p.without_trailing_glob(), "node_modules");
    }
}
