//! Generates the Node.js and Python SDKs of a Pulumi package from its schema.
//!
//! There is no Pulumi CLI where this project builds, so `pulumi package
//! gen-sdk` is not an option; this crate writes SDKs shaped like the ones
//! Pulumi's generator writes, driven only by schema.json (read as data, so
//! this crate builds without the provider).

mod error;
mod model;
mod names;
mod nodejs;
mod python;
mod schema;
mod sst;
mod text;
mod tree;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::GenError;
pub use schema::Package;
pub use sst::{sst_global_name, sst_lookup_names};
pub use tree::{differences, list_files, write_tree};

/// Generated files by path relative to the output directory (`/`-separated).
pub type Files = BTreeMap<String, String>;

/// Every SDK file for the schema text: `nodejs/...` and `python/...`.
pub fn generate(schema_text: &str, source_name: &str) -> Result<Files, GenError> {
    let package = Package::parse(schema_text, source_name)?;
    let mut files = Files::new();
    for (prefix, generated) in [
        ("nodejs", nodejs::generate(&package)?),
        ("python", python::generate(&package)?),
    ] {
        for (path, text) in generated {
            files.insert(format!("{prefix}/{path}"), normalize(text));
        }
    }
    Ok(files)
}

/// Reads the schema at `schema_path` and generates every SDK file.
pub fn generate_from_path(schema_path: &Path) -> Result<Files, GenError> {
    let text = std::fs::read_to_string(schema_path).map_err(|error| GenError::Read {
        path: schema_path.to_path_buf(),
        error,
    })?;
    generate(&text, &schema_path.display().to_string())
}

/// One trailing newline, no trailing spaces: stable output whatever the templates end with.
fn normalize(text: String) -> String {
    if text.is_empty() {
        return text;
    }
    let mut out: String = text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string();
    out.push('\n');
    out
}
