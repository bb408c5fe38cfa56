//! Lexical path cleaning with Go's `path.Clean` rules.
//!
//! Docker cleans COPY sources and `.dockerignore` patterns with Go's
//! `filepath.Clean` before matching; using the same rules keeps `a//b/./c`,
//! `a/b/../c` and trailing slashes behaving exactly as they do in a real build.

/// Cleans a slash-separated path the way Go's `path.Clean` does: repeated
/// slashes collapse, `.` elements go, `..` removes the element before it (or
/// stays, at the start of a relative path), a trailing slash goes, and the
/// empty result is `.`.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// Where a build-context path points after cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextPath {
    /// Relative to the context root; empty means the root itself.
    Inside(String),
    /// `..` climbs above the context root.
    Outside,
}

/// Resolves a COPY/ADD source as written (a leading `/` means the context
/// root) to a clean context-relative path, or reports that `..` leaves the
/// context. Docker itself clamps `..` at the root; we refuse instead so a
/// Dockerfile that tries to read outside its context is caught, not
/// silently redirected.
pub fn context_relative(source: &str) -> ContextPath {
    let trimmed = source.trim_start_matches('/');
    let cleaned = clean(trimmed);
    if cleaned == "." {
        return ContextPath::Inside(String::new());
    }
    if cleaned == ".." || cleaned.starts_with("../") {
        return ContextPath::Outside;
    }
    ContextPath::Inside(cleaned)
}

/// Joins a context-relative directory and a child name.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Parent of a context-relative path (`""` for top-level entries).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go_examples() {
        let cases = [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("/abc/def/", "/abc/def"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("abc/./def", "abc/def"),
            ("./abc/def", "abc/def"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn context_relative_refuses_escapes() {
        assert_eq!(context_relative("/"), ContextPath::Inside(String::new()));
        assert_eq!(context_relative("."), ContextPath::Inside(String::new()));
        assert_eq!(context_relative("/src/"), ContextPath::Inside("src".into()));
        assert_eq!(context_relative("a/../b"), ContextPath::Inside("b".into()));
        assert_eq!(context_relative("../x"), ContextPath::Outside);
        assert_eq!(context_relative("a/../../x"), ContextPath::Outside);
        assert_eq!(context_relative("/../x"), ContextPath::Outside);
    }
}
