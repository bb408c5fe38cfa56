//! Errors of the generator, each naming the schema location or file involved.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{source_name} is not valid JSON: {error}")]
    Json { source_name: String, error: String },
    #[error("schema {at}: {reason}")]
    Invalid { at: String, reason: String },
    #[error("schema {at}: unsupported {what}")]
    UnsupportedType { at: String, what: String },
    #[error("schema token {0:?} is not supported: only `<package>:index:<Name>` tokens are")]
    UnsupportedToken(String),
    #[error("schema {at}: refers to type {token:?}, which the schema does not define")]
    UnknownType { at: String, token: String },
    #[error("schema {at}: the name {name:?} clashes with {what} in the generated {language} SDK")]
    NameClash {
        at: String,
        name: String,
        what: String,
        language: &'static str,
    },
}

impl GenError {
    pub fn missing(at: &str, key: &str) -> GenError {
        GenError::Invalid {
            at: at.to_string(),
            reason: format!("`{key}` is missing"),
        }
    }
}
