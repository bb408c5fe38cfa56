//! Just enough Dockerfile parsing to pin base images and to map a builder's
//! "step 3 of stage 2" back to the user's line number. The builder itself
//! remains the authority on syntax.

use std::collections::BTreeMap;

/// One instruction (a logical line, continuations joined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the instruction keyword.
    pub line: usize,
    /// 1-based last physical line (continuations, heredocs).
    pub end_line: usize,
    /// Upper-case keyword (`FROM`, `RUN`...).
    pub keyword: String,
    /// Everything after the keyword, continuations joined with a space.
    pub args: String,
    /// 0-based stage index; `None` before the first `FROM`.
    pub stage: Option<usize>,
}

impl Instruction {
    /// `RUN make all`, the way builders print a step.
    pub fn text(&self) -> String {
        if self.args.is_empty() {
            self.keyword.clone()
        } else {
            format!("{} {}", self.keyword, self.args)
        }
    }
}

/// A `FROM` line's parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromClause {
    pub image: String,
    pub alias: Option<String>,
    pub line: usize,
}

/// Splits a Dockerfile into instructions.
pub fn parse(text: &str) -> Vec<Instruction> {
    let escape = escape_char(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut instructions = Vec::new();
    let mut stage: Option<usize> = None;
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut logical = String::new();
        loop {
            let line = lines[i].trim_end();
            let (content, continues) = match line.strip_suffix(escape) {
                Some(stripped) => (stripped, true),
                None => (line, false),
            };
            if !logical.is_empty() {
                logical.push(' ');
            }
            logical.push_str(content.trim());
            i += 1;
            if !continues {
                break;
            }
            // Comment and blank lines inside a continuation are skipped.
            while i < lines.len() && {
                let t = lines[i].trim();
                t.is_empty() || t.starts_with('#')
            } {
                i += 1;
            }
            if i >= lines.len() {
                break;
            }
        }
        for delimiter in heredoc_delimiters(&logical) {
            while i < lines.len() {
                let candidate = lines[i];
                i += 1;
                if candidate.trim_start_matches('\t') == delimiter || candidate.trim() == delimiter
                {
                    break;
                }
            }
        }
        let (keyword, args) = logical
            .split_once(char::is_whitespace)
            .unwrap_or((logical.as_str(), ""));
        let keyword = keyword.to_ascii_uppercase();
        if keyword == "FROM" {
            stage = Some(stage.map_or(0, |s| s + 1));
        }
        instructions.push(Instruction {
            line: start + 1,
            end_line: i,
            keyword,
            args: args.trim().to_string(),
            stage,
        });
    }
    instructions
}

/// The parts of a `FROM` instruction's arguments.
pub fn from_clause(instruction: &Instruction) -> Option<FromClause> {
    if instruction.keyword != "FROM" {
        return None;
    }
    let mut tokens = instruction
        .args
        .split_whitespace()
        .filter(|t| !t.starts_with("--"));
    let image = tokens.next()?.to_string();
    let alias = match (tokens.next(), tokens.next()) {
        (Some(as_kw), Some(name)) if as_kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
        _ => None,
    };
    Some(FromClause {
        image,
        alias,
        line: instruction.line,
    })
}

/// The external images a Dockerfile builds on, as written in its `FROM`
/// lines, in order and without duplicates. Leaves out `scratch`, earlier
/// stages, and references built from `ARG`s (they cannot be resolved
/// before the build).
pub fn base_images(text: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut images: Vec<String> = Vec::new();
    for clause in parse(text).iter().filter_map(from_clause) {
        let is_stage = stages.iter().any(|s| s.eq_ignore_ascii_case(&clause.image));
        let usable = !is_stage
            && !clause.image.eq_ignore_ascii_case("scratch")
            && !clause.image.contains('$');
        if usable && !images.contains(&clause.image) {
            images.push(clause.image.clone());
        }
        if let Some(alias) = clause.alias {
            stages.push(alias);
        }
    }
    images
}

/// Rewrites `FROM` image references found in `overrides` (reference as
/// written -> replacement, e.g. a pinned `repo@sha256:...`). Every other byte
/// and the line count stay the same, so builder line numbers still match the
/// user's file.
pub fn rewrite_from(text: &str, overrides: &BTreeMap<String, String>) -> String {
    if overrides.is_empty() {
        return text.to_string();
    }
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut stages: Vec<String> = Vec::new();
    for instruction in parse(text) {
        let Some(clause) = from_clause(&instruction) else {
            continue;
        };
        let is_stage = stages.iter().any(|s| s.eq_ignore_ascii_case(&clause.image));
        if let Some(alias) = &clause.alias {
            stages.push(alias.clone());
        }
        if is_stage {
            continue;
        }
        let Some(replacement) = overrides.get(&clause.image) else {
            continue;
        };
        for (offset, line) in lines
            .iter_mut()
            .enumerate()
            .skip(instruction.line - 1)
            .take(instruction.end_line + 1 - instruction.line)
        {
            // Skip the keyword itself on the first line.
            let search_from = if offset == instruction.line - 1 {
                line.to_ascii_uppercase()
                    .find("FROM")
                    .map(|p| p + 4)
                    .unwrap_or(0)
            } else {
                0
            };
            if let Some(found) = find_token(&line[search_from..], &clause.image) {
                let at = search_from + found;
                line.replace_range(at..at + clause.image.len(), replacement);
                break;
            }
        }
    }
    lines.join("\n")
}

/// Position of `token` in `haystack` as a whole whitespace-separated word.
fn find_token(haystack: &str, token: &str) -> Option<usize> {
    let mut start = 0;
    while let Some(pos) = haystack[start..].find(token) {
        let at = start + pos;
        let before_ok = haystack[..at]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace);
        let after_ok = haystack[at + token.len()..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace);
        if before_ok && after_ok {
            return Some(at);
        }
        start = at + token.len();
    }
    None
}

/// The escape character from a leading `# escape=` parser directive.
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let trimmed = line.trim();
        let Some(directive) = trimmed.strip_prefix('#') else {
            break;
        };
        let directive = directive.trim();
        if let Some((key, value)) = directive.split_once('=') {
            if key.trim().eq_ignore_ascii_case("escape") {
                if let Some(c) = value.trim().chars().next() {
                    return c;
                }
            }
            continue;
        }
        break;
    }
    '\\'
}

/// Delimiters of heredocs opened on this logical line (`<<EOF`, `<<-"EOF"`).
fn heredoc_delimiters(logical: &str) -> Vec<String> {
    let mut delimiters = Vec::new();
    let mut rest = logical;
    while let Some(pos) = rest.find("<<") {
        let after = rest[pos + 2..].trim_start_matches('-');
        let word: String = after
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty()
            && word
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            delimiters.push(word);
        }
        rest = &rest[pos + 2..];
    }
    delimiters
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &str = "# syntax=docker/dockerfile:1\nARG BASE=alpine\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go build \\\n    -o /app .\n\nFROM build AS test\nFROM ${BASE}\nFROM registry.local:5000/base:1\nCOPY --from=build /app /app\nFROM scratch\n";

    #[test]
    fn parses_lines_stages_and_continuations() {
        let parsed = parse(MULTI);
        let summary: Vec<(usize, &str, Option<usize>)> = parsed
            .iter()
            .map(|i| (i.line, i.keyword.as_str(), i.stage))
            .collect();
        assert_eq!(
            summary,
            vec![
                (2, "ARG", None),
                (3, "FROM", Some(0)),
                (4, "RUN", Some(0)),
                (7, "FROM", Some(1)),
                (8, "FROM", Some(2)),
                (9, "FROM", Some(3)),
                (10, "COPY", Some(3)),
                (11, "FROM", Some(4)),
            ]
        );
        assert_eq!(parsed[2].args, "go build -o /app .");
        assert_eq!(parsed[2].end_line, 5);
    }

    #[test]
    fn base_images_skip_stages_scratch_and_args() {
        assert_eq!(
            base_images(MULTI),
            vec!["golang:1.22", "registry.local:5000/base:1"]
        );
    }

    #[test]
    fn rewrite_keeps_line_numbers_and_flags() {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "golang:1.22".to_string(),
            "golang:1.22@sha256:abc".to_string(),
        );
        overrides.insert("build".to_string(), "must-not-apply".to_string());
        let rewritten = rewrite_from(MULTI, &overrides);
        assert_eq!(rewritten.lines().count(), MULTI.lines().count());
        assert!(
            rewritten.contains("FROM --platform=$BUILDPLATFORM golang:1.22@sha256:abc AS build\n")
        );
        assert!(rewritten.contains("FROM build AS test\n"));
    }

    #[test]
    fn heredocs_and_escape_directive() {
        let text = "# escape=`\nFROM a\nRUN <<EOF\necho hi\nEOF\nCOPY x `\n  y\nRUN done\n";
        let lines: Vec<(usize, String)> = parse(text)
            .iter()
            .map(|i| (i.line, i.keyword.clone()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (2, "FROM".into()),
                (3, "RUN".into()),
                (6, "COPY".into()),
                (8, "RUN".into())
            ]
        );
    }
}
