//! Any `.dockerignore` text and any path: compiling and matching must never
//! panic. The first line of the input is the path, the rest the ignore file.
#![no_main]

use imagedeploy_fingerprint::ignore::{compile, MatchInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, rules) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(matcher) = compile(rules) {
        let _ = matcher.matches_or_parent_matches(path);
        let mut info = MatchInfo::default();
        let mut prefix = String::new();
        for part in path.split('/') {
            prefix = if prefix.is_empty() {
                part.to_string()
            } else {
                format!("{prefix}/{part}")
            };
            let (_, next) = matcher.matches_with_parent(&prefix, &info);
            let _ = matcher.can_skip_matched_dir(&prefix, &next);
            let _ = matcher.could_match_under(&prefix, &next);
            info = next;
        }
    }
});
