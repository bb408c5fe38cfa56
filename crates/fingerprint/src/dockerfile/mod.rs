//! Dockerfile parsing and build planning with BuildKit's semantics.
//!
//! The fingerprint must change exactly when the build's inputs change, so it
//! hashes the Dockerfile as parsed instructions (not bytes) and only the parts
//! the chosen target can reach. [`parse`] turns text into stages of typed
//! instructions with a layout-independent canonical text; [`plan`] resolves
//! variables, follows stage dependencies from the target and lists every
//! context read, external image, build arg and secret that can affect it.

mod canonical;
mod directives;
mod error;
mod flags;
mod heredoc;
mod instruction;
mod lines;
mod mount;
mod plan;
mod shell;
mod words;

#[cfg(test)]
mod tests;

pub use directives::Directives;
pub use error::{ParseError, PlanError};
pub use flags::Flag;
pub use heredoc::Heredoc;
pub use instruction::{ArgDecl, Command, CommandLine, CopyArgs, Instruction, KeyValue, Run};
pub use lines::Joined;
pub use mount::{Mount, MountType};
pub use plan::{
    automatic_args, host_platform, plan, platform_args, BuildPlan, ContextSource,
    PlannedInstruction, PlannedRun, SourceKind, Unhashable, AUTOMATIC_ARGS,
};

use instruction::{heredoc_capable, parse_instruction, Ctx};

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Directives,
    /// `ARG` instructions before the first `FROM` (global scope).
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

/// One build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position among the stages, from 0.
    pub index: usize,
    /// `AS` name, lower-cased.
    pub name: Option<String>,
    /// The `FROM` instruction.
    pub from: Instruction,
    pub instructions: Vec<Instruction>,
}

impl Stage {
    /// Base reference as written (may contain `$VARS`).
    pub fn base(&self) -> &str {
        match &self.from.command {
            Command::From { image, .. } => image,
            _ => "",
        }
    }

    /// `--platform` as written, if any.
    pub fn platform(&self) -> Option<&str> {
        match &self.from.command {
            Command::From { platform, .. } => platform.as_deref(),
            _ => None,
        }
    }

    /// Name, or index when unnamed (how the plan reports a target).
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.index.to_string())
    }
}

/// Shells whose word splitting is POSIX-like (collapsing blanks is safe).
fn is_posix_shell(argv: &[String]) -> bool {
    let Some(first) = argv.first() else {
        return false;
    };
    let base = first.rsplit('/').next().unwrap_or(first);
    matches!(
        base,
        "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh" | "mksh"
    )
}

fn looks_windows(image: &str, platform: Option<&str>) -> bool {
    let image = image.to_ascii_lowercase();
    platform.is_some_and(|p| p.to_ascii_lowercase().contains("windows"))
        || ["windows", "nanoserver", "servercore"]
            .iter()
            .any(|w| image.contains(w))
}

/// Parses a Dockerfile. Never panics; errors name the offending line.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let (directives, lines) = lines::read_lines(text, |l, _| heredoc_capable(l))?;
    if lines.is_empty() {
        return Err(ParseError::Empty);
    }
    let escape = directives.escape;
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    // Whether each stage's shell is POSIX-like at its end (inherited by
    // `FROM <stage>`), and whether any stage switched to another shell.
    let mut stage_posix: Vec<bool> = Vec::new();
    let mut custom_shell_seen = false;
    for ll in lines {
        let posix = stage_posix.last().copied().unwrap_or(escape == '\\');
        let mut ins = parse_instruction(
            &ll.source.text,
            ll.start,
            ll.end,
            ll.heredocs,
            Ctx {
                escape,
                posix_shell: posix,
            },
        )?;
        ins.source = ll.source;
        match &ins.command {
            Command::From {
                image,
                name,
                platform,
            } => {
                let lower = image.to_ascii_lowercase();
                let parent = stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(lower.as_str()));
                let posix = if escape != '\\' || looks_windows(image, platform.as_deref()) {
                    false
                } else if let Some(p) = parent {
                    stage_posix[p]
                } else if image.contains('$') {
                    !custom_shell_seen
                } else {
                    true
                };
                stage_posix.push(posix);
                stages.push(Stage {
                    index: stages.len(),
                    name: name.clone(),
                    from: ins,
                    instructions: Vec::new(),
                });
            }
            Command::Arg(_) if stages.is_empty() => global_args.push(ins),
            _ => {
                let Some(stage) = stages.last_mut() else {
                    return Err(ParseError::NoBuildStage { line: ins.line });
                };
                if let Command::Shell(argv) = &ins.command {
                    let posix = escape == '\\' && is_posix_shell(argv);
                    custom_shell_seen |= !posix;
                    if let Some(last) = stage_posix.last_mut() {
                        *last = posix;
                    }
                }
                stage.instructions.push(ins);
            }
        }
    }
    if stages.is_empty() {
        return Err(ParseError::NoStages);
    }
    Ok(Dockerfile {
        directives,
        global_args,
        stages,
    })
}
