//! The demo deployment: an Image built from a small app and pushed to a
//! local registry, feeding an ECS Service on the AWS emulator, taken through
//! the edits that used to redeploy services for nothing and one that really
//! changes the image. Prints what the Pulumi CLI would show, then a summary,
//! then destroys the stack. Exits non-zero if the promise did not hold.

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

    let violations = outcome.violations();
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
