//! Which build steps came from a cache and which ran again, read from the
//! builders' own progress lines, and how many cache images an export
//! pushed.
//!
//! buildah prints `STEP n/m: <instruction>`, then `--> Using cache <id>`
//! for a step taken from the local store, `--> Cache pulled from remote
//! <ref>` before it when a `--cache-from` repository supplied it, and
//! `--> Pushing cache <ref>` for each step `--cache-to` exports. BuildKit
//! (the Docker engine, plain progress) prints `#n [stage k/m] <instruction>`
//! and later `#n CACHED` or `#n DONE 1.2s`. `FROM` steps are not counted:
//! they build nothing.

use std::collections::HashMap;
use std::time::Instant;

use crate::failure::{buildah_step, buildkit_step, buildkit_vertex, StepMarker, Steps};

/// One step that ran again.
#[derive(Clone, Debug, PartialEq)]
pub struct RebuiltStep {
    /// 0-based stage index, when known.
    pub stage: Option<usize>,
    /// 1-based Dockerfile line, when it could be determined.
    pub line: Option<usize>,
    /// The instruction as the Dockerfile shows it.
    pub instruction: String,
    /// How long it ran.
    pub seconds: f64,
}

/// The cache's share of one build.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepReport {
    /// Steps that build something (every instruction but `FROM`).
    pub steps: usize,
    /// Of those, taken from a cache (local or pulled from a cache repository).
    pub cached: usize,
    /// Of the cached ones, pulled from a `--cache-from` repository.
    pub pulled_from_cache: usize,
    /// The steps that ran again, in build order.
    pub rebuilt: Vec<RebuiltStep>,
    /// Cache images an export pushed.
    pub exported: usize,
}

impl StepReport {
    /// The one-line summary for the engine log: `12 steps, 10 cached, 2
    /// rebuilt: RUN npm ci (line 6, 41 s), COPY src (line 9)`.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} steps, {} cached, {} rebuilt",
            self.steps,
            self.cached,
            self.rebuilt.len()
        );
        if self.pulled_from_cache > 0 {
            out.push_str(&format!(
                " ({} taken from the shared cache)",
                self.pulled_from_cache
            ));
        }
        for (n, step) in self.rebuilt.iter().enumerate() {
            out.push_str(if n == 0 { ": " } else { ", " });
            let words: String = step.instruction.chars().take(60).collect();
            out.push_str(&words);
            let mut details = Vec::new();
            if let Some(line) = step.line {
                details.push(format!("line {line}"));
            }
            if step.seconds >= 1.0 {
                details.push(format!("{:.0} s", step.seconds));
            }
            if !details.is_empty() {
                out.push_str(&format!(" ({})", details.join(", ")));
            }
        }
        out
    }
}

/// A step seen starting, not yet known to be cached or rebuilt.
struct Open {
    marker: StepMarker,
    started: Instant,
    cached: bool,
    pulled: bool,
}

/// Watches builder output line by line.
#[derive(Default)]
pub(crate) struct CacheWatch {
    /// buildah: the step running now.
    current: Option<Open>,
    /// BuildKit: steps by vertex number.
    vertices: HashMap<String, Open>,
    /// Finished steps, in order: marker, cached, pulled, seconds.
    done: Vec<(StepMarker, bool, bool, f64)>,
    exported: usize,
}

fn is_from(marker: &StepMarker) -> bool {
    marker
        .text
        .split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
}

impl CacheWatch {
    pub(crate) fn observe(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some(marker) = buildah_step(line) {
            self.close_current();
            if !is_from(&marker) {
                self.current = Some(Open {
                    marker,
                    started: Instant::now(),
                    cached: false,
                    pulled: false,
                });
            }
            return;
        }
        if let Some(rest) = line.strip_prefix("--> ") {
            if rest.starts_with("Pushing cache ") {
                self.exported += 1;
            } else if let Some(open) = self.current.as_mut() {
                if rest.starts_with("Using cache ") {
                    open.cached = true;
                } else if rest.starts_with("Cache pulled from remote ") {
                    open.pulled = true;
                }
            }
            return;
        }
        if line.starts_with("COMMIT") {
            self.close_current();
            return;
        }
        let Some((vertex, rest)) = buildkit_vertex(line) else {
            return;
        };
        if let Some(marker) = buildkit_step(rest) {
            if !is_from(&marker) {
                self.vertices.entry(vertex.to_string()).or_insert(Open {
                    marker,
                    started: Instant::now(),
                    cached: false,
                    pulled: false,
                });
            }
        } else if rest == "CACHED" {
            if let Some(open) = self.vertices.remove(vertex) {
                self.done.push((open.marker, true, false, 0.0));
            }
        } else if let Some(seconds) = rest.strip_prefix("DONE ") {
            if let Some(open) = self.vertices.remove(vertex) {
                let seconds = seconds
                    .trim_end_matches('s')
                    .parse()
                    .unwrap_or_else(|_| open.started.elapsed().as_secs_f64());
                self.done.push((open.marker, false, false, seconds));
            }
        }
    }

    fn close_current(&mut self) {
        if let Some(open) = self.current.take() {
            let seconds = open.started.elapsed().as_secs_f64();
            let cached = open.cached;
            self.done
                .push((open.marker, cached, open.pulled && cached, seconds));
        }
    }

    /// The report, with each rebuilt step placed on `dockerfile_text`'s lines.
    pub(crate) fn report(&mut self, dockerfile_text: &str) -> StepReport {
        self.close_current();
        let steps = Steps::read(dockerfile_text);
        let mut report = StepReport {
            exported: self.exported,
            ..StepReport::default()
        };
        for (marker, cached, pulled, seconds) in &self.done {
            report.steps += 1;
            if *cached {
                report.cached += 1;
                report.pulled_from_cache += usize::from(*pulled);
                continue;
            }
            let found = steps.as_ref().and_then(|s| s.locate(marker));
            report.rebuilt.push(RebuiltStep {
                stage: found.and_then(|s| s.stage),
                line: found.map(|s| s.line),
                instruction: found.map_or_else(|| marker.text.clone(), |s| s.text.clone()),
                seconds: *seconds,
            });
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "FROM base AS deps\nRUN npm ci\n\nFROM base\nCOPY --from=deps /x /x\nCOPY src /src\nRUN make\n";

    fn watch(lines: &[&str]) -> StepReport {
        let mut w = CacheWatch::default();
        for line in lines {
            w.observe(line);
        }
        w.report(FILE)
    }

    #[test]
    fn buildah_cached_pulled_and_rebuilt_steps() {
        let r = watch(&[
            "[1/2] STEP 1/2: FROM base AS deps",
            "[1/2] STEP 2/2: RUN npm ci",
            "--> Cache pulled from remote 127.0.0.1:5000/app-cache:4ce1",
            "--> Using cache 4a1ad1b600c",
            "--> 4a1ad1b600c",
            "[2/2] STEP 1/4: FROM base",
            "[2/2] STEP 2/4: COPY --from=deps /x /x",
            "--> Using cache 583dfd72a59",
            "[2/2] STEP 3/4: COPY src /src",
            "--> 9f2e",
            "[2/2] STEP 4/4: RUN make",
            "COMMIT localhost/imagedeploy-build:x",
            "--> Pushing cache 127.0.0.1:5000/app-cache:2d44",
        ]);
        assert_eq!((r.steps, r.cached, r.pulled_from_cache), (4, 2, 1));
        let lines: Vec<_> = r.rebuilt.iter().map(|s| (s.line, s.stage)).collect();
        assert_eq!(lines, [(Some(6), Some(1)), (Some(7), Some(1))]);
        assert_eq!(r.rebuilt[0].instruction, "COPY src /src");
        assert_eq!(r.exported, 1);
        let summary = r.summary();
        assert!(
            summary.starts_with("4 steps, 2 cached, 2 rebuilt (1 taken from the shared cache): COPY src /src (line 6"),
            "{summary}"
        );
    }

    #[test]
    fn buildkit_cached_and_done_vertices() {
        let r = watch(&[
            "#1 [internal] load build definition from Dockerfile",
            "#1 DONE 0.0s",
            "#4 [deps 1/2] FROM base",
            "#5 [deps 2/2] RUN npm ci",
            "#6 [stage-1 2/4] COPY --from=deps /x /x",
            "#5 CACHED",
            "#7 [stage-1 3/4] COPY src /src",
            "#7 DONE 0.1s",
            "#8 [stage-1 4/4] RUN make",
            "#8 41.2 compiling",
            "#8 DONE 41.5s",
            "#6 CACHED",
        ]);
        assert_eq!((r.steps, r.cached), (4, 2));
        let rebuilt: Vec<_> = r.rebuilt.iter().map(|s| (s.line, s.seconds)).collect();
        assert_eq!(rebuilt, [(Some(6), 0.1), (Some(7), 41.5)]);
        assert!(
            r.summary().ends_with("RUN make (line 7, 42 s)"),
            "{}",
            r.summary()
        );
    }

    #[test]
    fn all_cached_rebuilds_nothing() {
        let r = watch(&[
            "STEP 1/2: FROM base",
            "STEP 2/2: RUN true",
            "--> Using cache 1",
        ]);
        assert_eq!((r.steps, r.cached, r.rebuilt.len()), (1, 1, 0));
    }
}
