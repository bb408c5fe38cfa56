//! The `fingerprint` subcommand: print the digest, the manifest (`--json`),
//! or the reasons it differs from an earlier manifest (`--explain`).

use crate::{CacheMode, DockerfileSource, Manifest, Request};
use clap::Parser;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Fingerprint exactly what a Dockerfile build can see.
#[derive(Debug, Parser)]
#[command(name = "fingerprint", no_binary_name = true)]
struct Args {
    /// Build context directory.
    #[arg(long, value_name = "DIR")]
    context: PathBuf,
    /// Dockerfile (default: <context>/Dockerfile).
    #[arg(long, value_name = "PATH")]
    dockerfile: Option<PathBuf>,
    /// Target stage (default: the last stage).
    #[arg(long, value_name = "NAME")]
    target: Option<String>,
    /// Build argument, repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    build_args: Vec<String>,
    /// Target platform, repeatable (e.g. linux/amd64).
    #[arg(long = "platform", value_name = "P")]
    platforms: Vec<String>,
    /// Print the whole manifest as JSON.
    #[arg(long)]
    json: bool,
    /// Print why the fingerprint differs from an earlier `--json` output.
    #[arg(long, value_name = "OLD.json")]
    explain: Option<PathBuf>,
    /// Do not read or write the stat cache.
    #[arg(long)]
    no_cache: bool,
    /// Also write the build context the builder gets (exactly the
    /// fingerprinted files, normalised) into DIR, which must not exist.
    #[arg(long, value_name = "DIR")]
    stage: Option<PathBuf>,
    /// Like --stage, but keep the snapshot in DIR/tree between runs and copy
    /// only what changed (what buildah builds do).
    #[arg(long, value_name = "DIR", conflicts_with = "stage")]
    stage_kept: Option<PathBuf>,
}

/// Runs the subcommand. `args` are the arguments after `fingerprint` (a
/// leading `fingerprint` is accepted too).
pub fn run(args: &[String]) -> ExitCode {
    let args = match args.first().map(String::as_str) {
        Some("fingerprint") => &args[1..],
        _ => args,
    };
    let parsed = match Args::try_parse_from(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match execute(parsed) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn execute(args: Args) -> Result<String, String> {
    let mut build_args = BTreeMap::new();
    for pair in &args.build_args {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!(
                "--build-arg {k:?} must be KEY=VALUE",
                k = key_only(pair)
            ));
        };
        build_args.insert(k.to_string(), v.to_string());
    }
    let old = match &args.explain {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
                format!("{} is not a fingerprint --json output: {e}", path.display())
            })?;
            Some(manifest)
        }
        None => None,
    };
    let mut req = Request::new(&args.context);
    if let Some(df) = args.dockerfile {
        req.dockerfile = DockerfileSource::Path(df);
    }
    req.target = args.target;
    req.build_args = build_args;
    req.platforms = args.platforms;
    if args.no_cache {
        req.cache = CacheMode::Disabled;
    }
    let fp = crate::fingerprint(&req).map_err(|e| error_chain(&e))?;
    if let Some(dir) = &args.stage {
        crate::stage::stage(&fp, dir).map_err(|e| error_chain(&e))?;
    }
    if let Some(dir) = &args.stage_kept {
        crate::stage::stage_incremental(&fp, dir).map_err(|e| error_chain(&e))?;
    }
    if let Some(old) = old {
        let mut out = String::new();
        for line in crate::explain(&old, &fp.manifest) {
            out.push_str(&line);
            out.push('\n');
        }
        for note in crate::notes(&fp.manifest) {
            out.push_str("note: ");
            out.push_str(&note);
            out.push('\n');
        }
        return Ok(out);
    }
    if args.json {
        let mut text = serde_json::to_string_pretty(&fp.manifest).map_err(|e| e.to_string())?;
        text.push('\n');
        return Ok(text);
    }
    Ok(format!("{}\n", fp.digest))
}

/// The name part of a malformed build arg (never echo a value: it may be a
/// secret).
fn key_only(pair: &str) -> &str {
    pair.split('=').next().unwrap_or_default()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
