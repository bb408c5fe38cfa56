//! Typed errors for parsing and planning; every parse error carries the
//! 1-based line where the offending instruction starts, and messages follow
//! Docker's wording so users recognise them.

/// A Dockerfile that BuildKit would reject while parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}: unknown instruction: {instruction}")]
    UnknownInstruction { line: usize, instruction: String },
    #[error("line {line}: only one {name} parser directive can be used")]
    DuplicateDirective { line: usize, name: String },
    #[error("line {line}: invalid escape token '{token}' does not match ` or \\")]
    InvalidEscape { line: usize, token: String },
    #[error("line {line}: unterminated heredoc")]
    UnterminatedHeredoc { line: usize },
    #[error("line {line}: unknown flag: {flag}")]
    UnknownFlag { line: usize, flag: String },
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("line {line}: no build stage in current context")]
    NoBuildStage { line: usize },
    #[error("file with no instructions")]
    Empty,
    #[error("dockerfile contains no stages to build")]
    NoStages,
}

impl ParseError {
    /// Line the error refers to (0 when it concerns the whole file).
    pub fn line(&self) -> usize {
        match self {
            ParseError::UnknownInstruction { line, .. }
            | ParseError::DuplicateDirective { line, .. }
            | ParseError::InvalidEscape { line, .. }
            | ParseError::UnterminatedHeredoc { line }
            | ParseError::UnknownFlag { line, .. }
            | ParseError::Syntax { line, .. }
            | ParseError::NoBuildStage { line } => *line,
            ParseError::Empty | ParseError::NoStages => 0,
        }
    }

    pub(crate) fn syntax(line: usize, message: impl Into<String>) -> Self {
        ParseError::Syntax {
            line,
            message: message.into(),
        }
    }
}

/// A parsed Dockerfile that cannot be planned for the requested target/args.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("target stage \"{target}\" could not be found (stages: {})", list_names(.stages))]
    TargetNotFound { target: String, stages: Vec<String> },
    #[error("line {line}: {message}")]
    Substitution { line: usize, message: String },
    #[error("line {line}: circular dependency detected on stage: {stage}")]
    CircularDependency { line: usize, stage: String },
    #[error("line {line}: invalid from flag value {value}: index out of bounds")]
    StageIndexOutOfBounds { line: usize, value: String },
    #[error("line {line}: source can't be a URL for COPY")]
    CopyFromUrl { line: usize },
}

fn list_names(stages: &[String]) -> String {
    if stages.is_empty() {
        "none named".to_string()
    } else {
        stages.join(", ")
    }
}
