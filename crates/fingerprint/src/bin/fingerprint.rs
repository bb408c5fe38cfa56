//! Stand-alone `fingerprint` command (the provider binary exposes the same
//! thing as `pulumi-resource-imagedeploy fingerprint`).

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    imagedeploy_fingerprint::cli::run(&args)
}
