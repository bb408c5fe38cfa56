//! `sdk-gen [--schema PATH] [--out DIR] [--check]`: regenerates `sdk/nodejs`
//! and `sdk/python` from `schema.json` (both at the repository root by default).
//! `--check` writes nothing and exits 1 when the committed SDKs are stale.

use std::path::PathBuf;
use std::process::ExitCode;

struct Args {
    schema: PathBuf,
    out: PathBuf,
    check: bool,
}

const USAGE: &str = "usage: sdk-gen [--schema PATH] [--out DIR] [--check]";

fn parse_args() -> Result<Args, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = Args {
        schema: root.join("schema.json"),
        out: root.join("sdk"),
        check: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--schema" => args.schema = it.next().ok_or("--schema needs a path")?.into(),
            "--out" => args.out = it.next().ok_or("--out needs a directory")?.into(),
            "--check" => args.check = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let files = match sdk_gen::generate_from_path(&args.schema) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sdk-gen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.check {
        return match sdk_gen::differences(&files, &args.out) {
            Ok(diffs) if diffs.is_empty() => {
                println!(
                    "sdk-gen: {} is up to date ({} files)",
                    args.out.display(),
                    files.len()
                );
                ExitCode::SUCCESS
            }
            Ok(diffs) => {
                for d in diffs {
                    eprintln!("stale: {d}");
                }
                eprintln!("sdk-gen: run `cargo run -p sdk-gen` and commit the result");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("sdk-gen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match sdk_gen::write_tree(&files, &args.out) {
        Ok(changed) => {
            for c in &changed {
                println!("updated {c}");
            }
            println!(
                "sdk-gen: {} files in {} ({} changed)",
                files.len(),
                args.out.display(),
                changed.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sdk-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
