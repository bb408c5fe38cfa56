//! Finds the Dockerfile instruction a failed build stopped at, from the
//! builder's own progress lines (buildah `STEP n/m:`, BuildKit `#n [stage k/m]`,
//! or an explicit `Dockerfile:12` / `line 12` when the builder prints one).

use std::collections::HashMap;

use imagedeploy_fingerprint::dockerfile::{parse, Instruction};

/// Which stage a builder's step marker refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    /// No stage given: a single-stage build (or the builder did not say).
    Unspecified,
    /// 0-based stage index.
    Index(usize),
    /// A stage alias (`AS builder`).
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StepMarker {
    stage: Stage,
    step: usize,
    pub(crate) text: String,
    counts_every_instruction: bool,
}

/// Watches builder output line by line and remembers where it was.
#[derive(Default)]
pub(crate) struct StepTracker {
    last_step: Option<StepMarker>,
    vertices: HashMap<String, StepMarker>,
    failed: Option<StepMarker>,
    explicit_line: Option<usize>,
}

/// The instruction a build failed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedStep {
    /// 1-based line in the user's Dockerfile, when it could be determined.
    pub line: Option<usize>,
    /// The instruction as the builder or the Dockerfile shows it.
    pub instruction: String,
}

impl StepTracker {
    pub(crate) fn observe(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some(marker) = buildah_step(line) {
            self.last_step = Some(marker);
        } else if let Some((vertex, rest)) = buildkit_vertex(line) {
            if let Some(marker) = buildkit_step(rest) {
                self.vertices.insert(vertex.to_string(), marker.clone());
                self.last_step = Some(marker);
            } else if rest.starts_with("ERROR") {
                if let Some(marker) = self.vertices.get(vertex) {
                    self.failed = Some(marker.clone());
                }
            }
        } else if let Some(summary) = line.trim_start().strip_prefix("> ") {
            if self.failed.is_none() {
                if let Some(marker) = buildkit_step(summary.trim_end_matches(':')) {
                    self.failed = Some(marker);
                }
            }
        }
        if let Some(number) = explicit_line_number(line) {
            self.explicit_line = Some(number);
        }
    }

    /// The failing instruction, mapped onto `dockerfile_text`'s lines.
    pub(crate) fn failed_step(&self, dockerfile_text: &str) -> Option<FailedStep> {
        let steps = Steps::read(dockerfile_text);
        if let Some(line) = self.explicit_line {
            let instruction = match &steps {
                Some(steps) => steps
                    .list
                    .iter()
                    .find(|s| s.line <= line && line <= s.end_line)
                    .map(|s| s.text.clone())
                    .unwrap_or_default(),
                // Unparsable (the builder is probably reporting why): show the line.
                None => dockerfile_text
                    .lines()
                    .nth(line.saturating_sub(1))
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            return Some(FailedStep {
                line: Some(line),
                instruction,
            });
        }
        let marker = self.failed.as_ref().or(self.last_step.as_ref())?;
        let found = steps.as_ref().and_then(|s| s.locate(marker));
        Some(FailedStep {
            line: found.map(|s| s.line),
            instruction: found
                .map(|s| s.text.clone())
                .unwrap_or_else(|| marker.text.clone()),
        })
    }
}

/// One instruction of the user's Dockerfile, as builders print it.
pub(crate) struct Step {
    pub(crate) line: usize,
    end_line: usize,
    keyword: String,
    /// 0-based stage index; `None` for global `ARG`s.
    pub(crate) stage: Option<usize>,
    /// `RUN make all`: the joined source text, keyword upper-cased.
    pub(crate) text: String,
}

pub(crate) struct Steps {
    list: Vec<Step>,
    /// `AS` names by stage index (lower-cased).
    stage_names: Vec<Option<String>>,
}

impl Steps {
    /// `None` when the Dockerfile does not parse.
    pub(crate) fn read(text: &str) -> Option<Self> {
        let parsed = parse(text).ok()?;
        let step = |ins: &Instruction, stage: Option<usize>| Step {
            line: ins.line,
            end_line: ins.end_line,
            keyword: ins.keyword.clone(),
            stage,
            text: printed(ins),
        };
        let mut list: Vec<Step> = parsed.global_args.iter().map(|i| step(i, None)).collect();
        for stage in &parsed.stages {
            list.push(step(&stage.from, Some(stage.index)));
            list.extend(
                stage
                    .instructions
                    .iter()
                    .map(|i| step(i, Some(stage.index))),
            );
        }
        Some(Self {
            list,
            stage_names: parsed.stages.iter().map(|s| s.name.clone()).collect(),
        })
    }

    pub(crate) fn locate(&self, marker: &StepMarker) -> Option<&Step> {
        let stage_index = match &marker.stage {
            Stage::Index(i) => Some(*i),
            Stage::Name(name) => self
                .stage_names
                .iter()
                .position(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name))),
            Stage::Unspecified => (self.stage_names.len() == 1).then_some(0),
        };
        let in_stage: Vec<&Step> = self
            .list
            .iter()
            .filter(|s| s.stage.is_some() && (stage_index.is_none() || s.stage == stage_index))
            .collect();
        let normalise = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let wanted = normalise(&marker.text);
        let by_text: Vec<&&Step> = in_stage
            .iter()
            .filter(|s| normalise(&s.text) == wanted)
            .collect();
        if by_text.len() == 1 {
            return Some(by_text[0]);
        }
        let stage_index = stage_index?;
        let counted: Vec<&&Step> = in_stage
            .iter()
            .filter(|s| s.stage == Some(stage_index))
            .filter(|s| {
                marker.counts_every_instruction
                    || matches!(
                        s.keyword.as_str(),
                        "FROM" | "RUN" | "COPY" | "ADD" | "WORKDIR"
                    )
            })
            .collect();
        counted.get(marker.step.checked_sub(1)?).map(|s| **s)
    }
}

/// The instruction's source text joined as the builder reads it, with the
/// keyword upper-cased the way builders print steps.
fn printed(instruction: &Instruction) -> String {
    let rest = instruction
        .source
        .text
        .trim()
        .split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest.trim_start());
    if rest.is_empty() {
        instruction.keyword.clone()
    } else {
        format!("{} {rest}", instruction.keyword)
    }
}

/// `STEP 3/5: RUN make` or `[2/3] STEP 3/5: RUN make`.
pub(crate) fn buildah_step(line: &str) -> Option<StepMarker> {
    let (stage, rest) = match line.strip_prefix('[') {
        Some(bracketed) => {
            let (inside, rest) = bracketed.split_once("] ")?;
            let (k, _) = parse_fraction(inside)?;
            (Stage::Index(k.checked_sub(1)?), rest)
        }
        None => (Stage::Unspecified, line),
    };
    let rest = rest.strip_prefix("STEP ")?;
    let (fraction, text) = rest.split_once(": ")?;
    let (step, _) = parse_fraction(fraction)?;
    Some(StepMarker {
        stage,
        step,
        text: text.trim().to_string(),
        counts_every_instruction: true,
    })
}

/// `#7 rest` -> ("7", "rest").
pub(crate) fn buildkit_vertex(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?;
    let (id, rest) = rest.split_once(' ')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((id, rest))
}

/// `[stage-1 2/3] RUN make` or `[2/3] RUN make` or `[builder 2/3] COPY . .`.
pub(crate) fn buildkit_step(rest: &str) -> Option<StepMarker> {
    let inside_and_text = rest.strip_prefix('[')?;
    let (inside, text) = inside_and_text.split_once("] ")?;
    let (stage, fraction) = match inside.rsplit_once(' ') {
        Some((label, fraction)) => {
            let stage = match label
                .strip_prefix("stage-")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(index) => Stage::Index(index),
                None => Stage::Name(label.to_string()),
            };
            (stage, fraction)
        }
        None => (Stage::Unspecified, inside),
    };
    let (step, _) = parse_fraction(fraction)?;
    Some(StepMarker {
        stage,
        step,
        text: text.trim().to_string(),
        counts_every_instruction: false,
    })
}

fn parse_fraction(s: &str) -> Option<(usize, usize)> {
    let (a, b) = s.split_once('/')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// `Dockerfile:12`, `dockerfile parse error line 12`, `parse error on line 12`.
fn explicit_line_number(line: &str) -> Option<usize> {
    let lower = line.to_ascii_lowercase();
    let digits_after = |marker: &str| -> Option<usize> {
        let at = lower.find(marker)? + marker.len();
        let digits: String = lower[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    if lower.trim_start().starts_with("dockerfile:") {
        return digits_after("dockerfile:");
    }
    if lower.contains("parse error") || lower.contains("dockerfile") {
        return digits_after("parse error line ")
            .or_else(|| digits_after("parse error on line "))
            .or_else(|| digits_after("error on line "));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "FROM base AS deps\nRUN echo one\n\nFROM base\nENV A=1\nWORKDIR /app\nRUN echo about to fail && false\nCOPY --from=deps /x /x\n";

    fn failed(lines: &[&str]) -> Option<FailedStep> {
        let mut tracker = StepTracker::default();
        for line in lines {
            tracker.observe(line);
        }
        tracker.failed_step(FILE)
    }

    #[test]
    fn buildah_multi_stage_step() {
        let step = failed(&[
            "[1/2] STEP 1/2: FROM base AS deps",
            "[2/2] STEP 4/5: RUN echo about to fail && false",
            "about to fail",
            "Error: building at STEP \"RUN echo about to fail && false\": exit status 1",
        ]);
        assert_eq!(step.map(|s| s.line), Some(Some(7)));
    }

    #[test]
    fn buildkit_vertex_error() {
        let step = failed(&[
            "#6 [stage-1 3/4] RUN echo about to fail && false",
            "#7 [deps 2/2] RUN echo one",
            "#6 0.055 about to fail",
            "#6 ERROR: executor failed running [/bin/sh -c echo about to fail && false]: exit code: 1",
        ]);
        assert_eq!(
            step,
            Some(FailedStep {
                line: Some(7),
                instruction: "RUN echo about to fail && false".into()
            })
        );
    }

    #[test]
    fn explicit_line_wins() {
        let step = failed(&["failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 5: unknown instruction: FOO"]);
        assert_eq!(step.map(|s| s.line), Some(Some(5)));
        let step = failed(&["Dockerfile:8", "--------------------"]);
        assert_eq!(
            step.map(|s| (s.line, s.instruction)),
            Some((Some(8), "COPY --from=deps /x /x".into()))
        );
    }
}
