//! `pulumi-resource-imagedeploy`: the plugin the Pulumi engine launches.
//!
//! Also carries the `fingerprint` subcommand, so users can see from a shell
//! exactly what the Image resource will see.

use std::process::ExitCode;

use pulumi_provider::launch;

pub const USAGE: &str = "usage: pulumi-resource-imagedeploy [--logtostderr] [-v=N] [--tracing ENDPOINT] [ENGINE_ADDRESS]
       pulumi-resource-imagedeploy fingerprint --context DIR [--dockerfile PATH] [--target NAME] [--build-arg K=V]... [--platform P]... [--json] [--explain OLD.json]

Started by the Pulumi engine. Prints the port it serves on, then serves until
interrupted. Without an engine address it waits for the engine to Attach.";

fn main() -> ExitCode {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if raw.get(1).and_then(|a| a.to_str()) == Some(imagedeploy_build::guard::GUARD_ARG) {
        return ExitCode::from(imagedeploy_build::guard::main(&raw[2..]));
    }
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("fingerprint") {
        return imagedeploy::fingerprint_cli(&args[2..]);
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--version") {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if let Ok(me) = std::env::current_exe() {
        imagedeploy_build::guard::install(me);
    }
    // What killed runs left (temp files, old kept snapshots), in the
    // background: the engine is waiting for the port line.
    std::thread::spawn(imagedeploy::housekeeping::run);
    let launch = launch::Launch::parse(&args[1..]);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imagedeploy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(launch::serve(launch, imagedeploy::plugin())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imagedeploy: {e}");
            ExitCode::FAILURE
        }
    }
}
