//! The promise for multi-platform images: one Image built for linux/amd64
//! and linux/arm64 feeds an x86 Service and a Graviton (ARM64) Service. A
//! change only the arm64 build reads rebuilds only arm64, and only the
//! Graviton service gets a new task definition revision; preview says so.
//!
//! Where this machine runs arm64 programs (qemu in binfmt_misc), the image
//! starts from a multi-platform busybox and runs a `RUN` step on each
//! platform; elsewhere it copies files `FROM scratch`, which needs no
//! emulator.

use anyhow::Context;
use serde_json::{json, Value as Json};

use super::{ensure_ok, Stage, IMAGE_TYPE, SERVICE_TYPE};
use crate::{output, Deployment, Op, Program, Resource};

const IMAGE: &str = "multi";
const X86: &str = "x86";
const GRAVITON: &str = "graviton";

/// What the arm64-only edit did.
#[derive(Debug, Clone)]
pub struct PlatformOutcome {
    /// Whether the RUN steps ran (arm64 under emulation).
    pub emulated: bool,
    /// Preview's step for each service.
    pub preview_ops: (Option<Op>, Option<Op>),
    /// New task definition revisions per service (x86, Graviton).
    pub new_revisions: (usize, usize),
    /// Whether the amd64 image was built again for the edit.
    pub amd64_rebuilt: bool,
    /// The amd64 manifest digest before and after.
    pub amd64_digests: (String, String),
}

impl PlatformOutcome {
    /// What broke the promise; empty when it held.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.preview_ops != (Some(Op::Same), Some(Op::Update)) {
            out.push(format!(
                "preview after the arm64 edit: x86 {:?}, Graviton {:?} (expected same, update)",
                self.preview_ops.0, self.preview_ops.1
            ));
        }
        if self.new_revisions != (0, 1) {
            out.push(format!(
                "new revisions after the arm64 edit: x86 {}, Graviton {} (expected 0, 1)",
                self.new_revisions.0, self.new_revisions.1
            ));
        }
        if self.amd64_rebuilt || self.amd64_digests.0 != self.amd64_digests.1 {
            out.push("the amd64 image was built again or changed".to_string());
        }
        out
    }
}

fn outputs(stack: &Deployment, name: &str) -> anyhow::Result<Json> {
    Ok(stack
        .state()?
        .by_name(name)
        .map(|r| r.outputs.clone())
        .unwrap_or(Json::Null))
}

/// The build context: one file per architecture, and (with an emulator) a
/// RUN step on each platform.
fn write_context(dir: &std::path::Path, base: Option<&str>) -> anyhow::Result<()> {
    let dockerfile = match base {
        Some(base) => format!(
            "FROM {base}\nARG TARGETARCH\nCOPY app-${{TARGETARCH}} /app\nRUN uname -m > /machine\n"
        ),
        None => "FROM scratch\nARG TARGETARCH\nCOPY app-${TARGETARCH} /app\n".to_string(),
    };
    std::fs::write(dir.join("Dockerfile"), dockerfile)?;
    std::fs::write(dir.join("app-amd64"), "amd64 build v1\n")?;
    std::fs::write(dir.join("app-arm64"), "arm64 build v1\n")?;
    Ok(())
}

/// Runs the multi-platform part on its own stack, passing what the engine
/// would show to `show`, and destroys that stack.
pub async fn run_on(
    stage: &Stage,
    show: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<PlatformOutcome> {
    let emulated = imagedeploy_testsupport::emulation_available("linux/arm64");
    let base = match &emulated {
        Ok(()) => Some(
            imagedeploy_testsupport::push_multi_platform_busybox(&stage.registry)
                .context("pushing the multi-platform busybox base")?
                .reference,
        ),
        Err(why) => {
            show(&format!(
                "(this machine cannot run arm64 programs: {why}; the image copies files FROM scratch instead of running a RUN step on each platform)"
            ));
            None
        }
    };
    let context = tempfile::tempdir()?;
    write_context(context.path(), base.as_deref())?;
    let stack = stage.env.deployment()?;
    let service = |name: &str, architecture: &str| {
        let mut inputs = stage.env.service_inputs(&output(IMAGE, "ref"));
        inputs["name"] = json!(name);
        inputs["runtimePlatform"] = json!({ "cpuArchitecture": architecture });
        inputs["containers"][0]["memory"] = json!(512);
        Resource::new(SERVICE_TYPE, name, inputs)
    };
    let program = Program::new()
        .config(stage.env.provider_config())
        .resource(Resource::new(
            IMAGE_TYPE,
            IMAGE,
            json!({
                "context": { "location": context.path().to_string_lossy() },
                "tags": [format!("{}/multi:latest", stage.registry.address())],
                "builder": { "kind": "buildah" },
                "platforms": ["linux/amd64", "linux/arm64"],
            }),
        ))
        .resource(service(X86, "X86_64"))
        .resource(service(GRAVITON, "ARM64"));

    let r = stack.up(&program).await?;
    show(&format!(
        "=== multi-platform: pulumi up (linux/amd64 + linux/arm64, an x86 and a Graviton service) ===\n{}",
        r.render()
    ));
    ensure_ok("the multi-platform up", &r)?;
    let image = outputs(&stack, IMAGE)?;
    show(&format!(
        "index {}\n  linux/amd64 {}\n  linux/arm64 {}\nx86 runs {}\nGraviton runs {}\n",
        image["digest"].as_str().unwrap_or_default(),
        image["platformDigests"]["linux/amd64"]
            .as_str()
            .unwrap_or_default(),
        image["platformDigests"]["linux/arm64"]
            .as_str()
            .unwrap_or_default(),
        outputs(&stack, X86)?["images"]["web"]
            .as_str()
            .unwrap_or_default(),
        outputs(&stack, GRAVITON)?["images"]["web"]
            .as_str()
            .unwrap_or_default(),
    ));
    let family = |name: &str| -> anyhow::Result<String> {
        Ok(outputs(&stack, name)?["family"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    };
    let (x86_family, graviton_family) = (family(X86)?, family(GRAVITON)?);
    let x86_before = stage.env.registered_revisions(&x86_family).await?;
    let graviton_before = stage.env.registered_revisions(&graviton_family).await?;
    let amd64_before = image["platformDigests"]["linux/amd64"].clone();

    std::fs::write(context.path().join("app-arm64"), "arm64 build v2\n")?;
    let p = stack.preview(&program).await?;
    show(&format!(
        "=== multi-platform: an edit only the arm64 build reads: pulumi preview ===\n{}",
        p.render()
    ));
    ensure_ok("the multi-platform preview", &p)?;
    let r = stack.up(&program).await?;
    show(&format!(
        "=== multi-platform: an edit only the arm64 build reads: pulumi up ===\n{}",
        r.render()
    ));
    ensure_ok("the multi-platform up after the edit", &r)?;
    let amd64_rebuilt = r.logs.iter().any(|l| {
        l.urn.ends_with(&format!("::{IMAGE}")) && l.message.starts_with("linux/amd64: build steps")
    });
    let outcome = PlatformOutcome {
        emulated: emulated.is_ok(),
        preview_ops: (p.op(X86), p.op(GRAVITON)),
        new_revisions: (
            stage
                .env
                .registered_revisions(&x86_family)
                .await?
                .saturating_sub(x86_before),
            stage
                .env
                .registered_revisions(&graviton_family)
                .await?
                .saturating_sub(graviton_before),
        ),
        amd64_rebuilt,
        amd64_digests: (
            amd64_before.as_str().unwrap_or_default().to_string(),
            outputs(&stack, IMAGE)?["platformDigests"]["linux/amd64"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
    };
    show(&format!(
        "new task definition revisions: x86 {}, Graviton {}; linux/amd64 built again: {}\n",
        outcome.new_revisions.0,
        outcome.new_revisions.1,
        if outcome.amd64_rebuilt { "yes" } else { "no" }
    ));
    let d = stack.destroy().await?;
    ensure_ok("the multi-platform destroy", &d)?;
    Ok(outcome)
}
