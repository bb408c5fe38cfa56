//! The demo deployment: an Image built from a small app and pushed to a
//! local registry, feeding an ECS Service on the AWS emulator, taken through
//! the edits that used to redeploy services for nothing and one that really
//! changes the image; then a multi-platform Image (linux/amd64 + linux/arm64)
//! feeding an x86 and a Graviton service. Prints what the Pulumi CLI would
//! show, then a summary, then destroys the stacks. Exits non-zero if the promise did not hold.

use imagedeploy_tests::promise::{self, Stage};
use imagedeploy_tests::Op;

fn op_word(op: Option<Op>) -> &'static str {
    op.map_or("-", Op::word)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let stage = Stage::start().await?;
    let outcome = promise::run_on(&stage, &mut |text| println!("{text}")).await?;

    println!("=== summary: what each edit did to the ECS service ===");
    println!(
        "{:<42} {:<8} {:<8} {:>13} {:>10}  image the service runs",
        "edit", "preview", "up", "new revisions", "migrations"
    );
    for e in &outcome.edits {
        println!(
            "{:<42} {:<8} {:<8} {:>13} {:>10}  {}",
            e.label,
            op_word(e.preview_op),
            op_word(e.up_op),
            e.new_revisions,
            e.pre_deploy_runs,
            e.deployed_image
        );
    }

    let destroy = stage.stack.destroy().await?;
    println!("\n=== pulumi destroy ===\n{}", destroy.render());

    println!();
    let platforms = promise::platforms::run_on(&stage, &mut |text| println!("{text}")).await?;
    println!(
        "=== summary: one Image for linux/amd64 + linux/arm64 ({}) ===",
        if platforms.emulated {
            "each platform ran its RUN step, arm64 under qemu"
        } else {
            "files copied FROM scratch: no arm64 emulator here"
        }
    );
    println!(
        "an edit only the arm64 build reads: preview x86 {}, Graviton {}; new revisions x86 {}, Graviton {}; linux/amd64 built again: {}",
        op_word(platforms.preview_ops.0),
        op_word(platforms.preview_ops.1),
        platforms.new_revisions.0,
        platforms.new_revisions.1,
        if platforms.amd64_rebuilt { "yes" } else { "no" }
    );

    let mut violations = outcome.violations();
    violations.extend(platforms.violations());
    if violations.is_empty() && destroy.ok() {
        println!("The promise held: the task definition changed, and the migration ran, only when the image content did.");
        Ok(())
    } else {
        for v in &violations {
            eprintln!("promise broken: {v}");
        }
        anyhow::bail!("the demo did not behave as promised")
    }
}
