//! A small stack taken through preview, up, preview and destroy, printed the
//! way the Pulumi CLI would show it. Proves the plugin loads and behaves under
//! the engine's rules without needing the Pulumi CLI.

use imagedeploy_tests::{output, Deployment, Program, Report, Resource, FIXTURE_TYPE};
use serde_json::json;

fn show(title: &str, report: &Report) {
    println!("=== {title} ===");
    print!("{}", report.render());
    println!();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let stack = Deployment::new()?.with_fixture();
    println!("provider binary: {}", stack.bin().display());
    println!("stack file:      {}\n", stack.stack_file().path().display());

    let v1 = Program::new()
        .config(json!({"region": "us-east-1"}))
        .resource(Resource::new(
            FIXTURE_TYPE,
            "base",
            json!({"value": "v1", "tags": {"team": "platform"}}),
        ))
        .resource(Resource::new(
            FIXTURE_TYPE,
            "app",
            json!({"value": output("base", "result"), "replaceKey": "blue"}),
        ));

    let mut failed = false;
    let mut run = |title: &str, r: Report| {
        show(title, &r);
        if !r.ok() {
            failed = true;
        }
    };

    run("pulumi preview", stack.preview(&v1).await?);
    run("pulumi up", stack.up(&v1).await?);
    run(
        "pulumi preview (nothing changed)",
        stack.preview(&v1).await?,
    );

    let v2 = Program::new()
        .config(json!({"region": "us-east-1"}))
        .resource(Resource::new(
            FIXTURE_TYPE,
            "base",
            json!({"value": "v2", "tags": {"team": "platform"}}),
        ))
        .resource(Resource::new(
            FIXTURE_TYPE,
            "app",
            json!({"value": output("base", "result"), "replaceKey": "green"}),
        ));
    run(
        "pulumi preview (base.value and app.replaceKey changed)",
        stack.preview(&v2).await?,
    );
    run("pulumi up", stack.up(&v2).await?);
    run("pulumi destroy", stack.destroy().await?);

    if failed {
        anyhow::bail!("some runs failed (see the diagnostics above)");
    }
    println!("demo finished: every run behaved as the engine expects");
    Ok(())
}
