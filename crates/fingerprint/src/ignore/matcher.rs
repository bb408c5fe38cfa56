//! The ordered list of `.dockerignore` patterns and Docker's evaluation of it.
//!
//! The last pattern that matches a path (or one of its parent directories)
//! decides; `!` patterns re-include. Docker's context sender evaluates this
//! top-down, reusing each directory's per-pattern results for its children
//! (`MatchesUsingParentResults`), and that reuse has observable quirks, so we
//! evaluate the same way rather than with a cleaner but different rule.

use super::pattern::{Pattern, PatternError};

/// Per-pattern results for a directory, handed to its children. The default
/// means "no information" (top-level entries). Up to 64 patterns fit inline,
/// so walking large trees allocates nothing per entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo {
    known: bool,
    small: u64,
    large: Vec<bool>,
}

impl MatchInfo {
    fn with_len(len: usize) -> MatchInfo {
        MatchInfo {
            known: true,
            small: 0,
            large: if len > 64 {
                vec![false; len]
            } else {
                Vec::new()
            },
        }
    }

    fn get(&self, i: usize) -> bool {
        if !self.known {
            false
        } else if self.large.is_empty() {
            i < 64 && self.small & (1u64 << i) != 0
        } else {
            self.large.get(i).copied().unwrap_or(false)
        }
    }

    fn set(&mut self, i: usize) {
        if self.large.is_empty() {
            if i < 64 {
                self.small |= 1u64 << i;
            }
        } else if let Some(slot) = self.large.get_mut(i) {
            *slot = true;
        }
    }
}

/// Compiled `.dockerignore` patterns.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
    /// No exception has wildcards (apart from a trailing `/*` or `/**`):
    /// Docker then uses a simple prefix test to skip excluded directories.
    only_prefix_exceptions: bool,
}

/// A pattern that failed to compile, with its position in the input list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPatternAt {
    pub index: usize,
    pub error: PatternError,
}

impl Matcher {
    /// Compiles patterns in order. Blank ones are dropped.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, BadPatternAt> {
        let mut compiled = Vec::with_capacity(patterns.len());
        for (index, raw) in patterns.iter().enumerate() {
            match Pattern::new(raw.as_ref()) {
                Ok(Some(p)) => compiled.push(p),
                Ok(None) => {}
                Err(error) => return Err(BadPatternAt { index, error }),
            }
        }
        let exclusions = compiled.iter().any(Pattern::is_exclusion);
        let only_prefix_exceptions = !compiled
            .iter()
            .any(|p| p.is_exclusion() && p.has_wildcards_besides_trailing_glob());
        Ok(Matcher {
            patterns: compiled,
            exclusions,
            only_prefix_exceptions,
        })
    }

    /// True when there are no patterns (nothing is ignored).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is a `!` exception.
    pub fn has_exceptions(&self) -> bool {
        self.exclusions
    }

    /// Decides whether `path` is matched (ignored, for `.dockerignore`;
    /// excluded, for `COPY --exclude`), given its parent directory's results.
    /// Returns the results to hand to `path`'s own children.
    pub fn matches_with_parent(&self, path: &str, parent: &MatchInfo) -> (bool, MatchInfo) {
        let have_parent = parent.known;
        let mut matched = false;
        let mut info = MatchInfo::with_len(self.patterns.len());
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = have_parent && parent.get(i);
            if !hit {
                // Evaluating cannot change the outcome: skip, as Docker does
                // (and, as Docker does, leave this pattern's result false).
                if pattern.is_exclusion() != matched {
                    continue;
                }
                hit = pattern.matches(path);
                if !hit && !have_parent {
                    hit = any_parent_matches(pattern, path);
                }
            }
            if hit {
                info.set(i);
                matched = !pattern.is_exclusion();
            }
        }
        (matched, info)
    }

    /// Decides a single path with no walk state (patternmatcher's
    /// `MatchesOrParentMatches`): a pattern counts if it matches the path or
    /// any of its parent directories.
    pub fn matches_or_parent_matches(&self, path: &str) -> bool {
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.is_exclusion() != matched {
                continue;
            }
            if pattern.matches(path) || any_parent_matches(pattern, path) {
                matched = !pattern.is_exclusion();
            }
        }
        matched
    }

    /// For a matched (ignored) directory, whether it can be skipped without
    /// listing it: no `!` exception could re-include anything beneath it.
    /// With prefix-only exceptions this is exactly Docker's own shortcut (so
    /// we skip precisely what Docker skips); otherwise we skip only when every
    /// exception's literal prefix rules out paths under `dir`.
    pub fn can_skip_matched_dir(&self, dir: &str, info: &MatchInfo) -> bool {
        if !self.exclusions {
            return true;
        }
        let dir_slash = format!("{dir}/");
        if self.only_prefix_exceptions {
            return !self.patterns.iter().any(|p| {
                p.is_exclusion()
                    && format!("{}/", p.without_trailing_glob()).starts_with(&dir_slash)
            });
        }
        self.patterns.iter().enumerate().all(|(i, p)| {
            if !p.is_exclusion() {
                return true;
            }
            if info.get(i) {
                return false;
            }
            let prefix = p.literal_prefix();
            !(prefix.starts_with(&dir_slash) || dir_slash.starts_with(prefix))
        })
    }

    /// For a directory that did not match, whether any (non-exception)
    /// pattern could still match something beneath it. Used to prune the
    /// include pattern of `COPY --parents`.
    pub fn could_match_under(&self, dir: &str, info: &MatchInfo) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns.iter().enumerate().any(|(i, p)| {
            if p.is_exclusion() {
                return false;
            }
            if info.get(i) {
                return true;
            }
            let prefix = p.literal_prefix();
            prefix.starts_with(&dir_slash) || dir_slash.starts_with(prefix)
        })
    }
}

fn any_parent_matches(pattern: &Pattern, path: &str) -> bool {
    path.match_indices('/')
        .any(|(i, _)| pattern.matches(&path[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(patterns: &[&str], path: &str) -> bool {
        Matcher::new(patterns)
            .expect("valid")
            .matches_or_parent_matches(path)
    }

    /// Walks `path` component by component the way Docker's sender does.
    fn ignored_walking(patterns: &[&str], path: &str) -> bool {
        let m = Matcher::new(patterns).expect("valid");
        let mut info = MatchInfo::default();
        let mut result = false;
        let mut prefix = String::new();
        for part in path.split('/') {
            prefix = crate::pathclean::join(&prefix, part);
            let (hit, next) = m.matches_with_parent(&prefix, &info);
            result = hit;
            info = next;
        }
        result
    }

    #[test]
    fn docker_documented_examples() {
        // docs.docker.com "Dockerignore files" examples.
        let p = ["*/temp*", "*/*/temp*", "temp?"];
        assert!(ignored(&p, "somedir/temporary.txt"));
        assert!(ignored(&p, "somedir/temp"));
        assert!(ignored(&p, "somedir/subdir/temporary.txt"));
        assert!(ignored(&p, "tempa"));
        assert!(ignored(&p, "tempb"));
        assert!(!ignored(&p, "temporary.txt"));
        assert!(!ignored(&p, "a/b/c/temp"));

        // `**` matches any number of directories.
        assert!(ignored(&["**/*.go"], "main.go"));
        assert!(ignored(&["**/*.go"], "pkg/x/y.go"));

        // Exceptions: the last matching line wins.
        let p = ["*.md", "!README.md"];
        assert!(ignored(&p, "CHANGES.md"));
        assert!(!ignored(&p, "README.md"));
        let p = ["*.md", "!README*.md", "README-secret.md"];
        assert!(ignored(&p, "README-secret.md"));
        assert!(!ignored(&p, "README-public.md"));
        assert!(ignored(&p, "CHANGES.md"));
        let p = ["*.md", "README-secret.md", "!README*.md"];
        assert!(!ignored(&p, "README-secret.md"));

        // A pattern matching a directory ignores everything under it.
        assert!(ignored(&["node_modules"], "node_modules/a/b.js"));
        // Trailing slash and leading slash are cleaned away.
        assert!(ignored(&["build/"], "build/out.o"));
        assert!(ignored(&["build/"], "build"));
        // Single-star does not cross directories.
        assert!(!ignored(&["*.log"], "logs/app.log"));
        assert!(ignored(&["*.log"], "app.log"));
    }

    #[test]
    fn walking_equals_single_path_for_common_lists() {
        let lists: &[&[&str]] = &[
            &["node_modules", "!node_modules/keep"],
            &["*", "!src", "src/*.tmp"],
            &["**/*.log", "!important/*.log"],
            &["dist/**", "!dist/public/**"],
        ];
        let paths = [
            "node_modules/keep/x",
            "node_modules/other",
            "src/a.ts",
            "src/a.tmp",
            "README.md",
            "important/a.log",
            "logs/a.log",
            "dist/public/index.html",
            "dist/app.js",
        ];
        for list in lists {
            for path in paths {
                assert_eq!(
                    ignored(list, path),
                    ignored_walking(list, path),
                    "{list:?} {path}"
                );
            }
        }
    }

    #[test]
    fn docker_walk_quirk_is_reproduced() {
        // Docker skips evaluating "d" at the directory level (the result was
        // already "excluded"), so its children lose that pattern: d/x ends up
        // included while a single-path check says excluded.
        let p = ["*", "!d/x", "d"];
        assert!(ignored(&p, "d/x"));
        assert!(!ignored_walking(&p, "d/x"));
    }

    #[test]
    fn skip_decisions() {
        let m = Matcher::new(&["node_modules"]).unwrap();
        let (hit, info) = m.matches_with_parent("node_modules", &MatchInfo::default());
        assert!(hit);
        assert!(m.can_skip_matched_dir("node_modules", &info));

        let m = Matcher::new(&["node_modules", "!node_modules/keep"]).unwrap();
        let (_, info) = m.matches_with_parent("node_modules", &MatchInfo::default());
        assert!(!m.can_skip_matched_dir("node_modules", &info));

        let m = Matcher::new(&["node_modules", "vendor", "!src/**/*.md"]).unwrap();
        let (_, info) = m.matches_with_parent("node_modules", &MatchInfo::default());
        assert!(m.can_skip_matched_dir("node_modules", &info));

        let m = Matcher::new(&["node_modules", "!**/*.md"]).unwrap();
        let (_, info) = m.matches_with_parent("node_modules", &MatchInfo::default());
        assert!(!m.can_skip_matched_dir("node_modules", &info));
    }
}
