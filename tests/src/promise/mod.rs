//! The product's promise, end to end: the ECS task definition changes if and
//! only if the image content really changes, and preview says so.
//!
//! One program, as a user would write it: an `imagedeploy:index:Image`
//! built with buildah and pushed to a real registry, whose `ref` output
//! feeds an `imagedeploy:index:Service` (moto behind the ECS
//! fault-injection proxy, so rollouts complete). The scenario makes the
//! edits that change files but not what the image contains, then one that
//! does, and records for each what preview showed and how many task
//! definition revisions ECS holds afterwards. [`run`] is shared by the
//! end-to-end test (which asserts on the outcome) and the README's demo
//! (which prints what the engine would show).

pub mod ecs;
pub mod images;
pub mod platforms;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use imagedeploy_testsupport::Registry;
use serde_json::{json, Value as Json};

use crate::{output, Deployment, Op, Program, Report, Resource};
use ecs::EcsEnv;

pub const IMAGE_TYPE: &str = "imagedeploy:index:Image";
pub const SERVICE_TYPE: &str = "imagedeploy:index:Service";
/// Resource names in the program.
pub const IMAGE: &str = "app";
pub const SERVICE: &str = "web";

/// A context edit and whether it changes what the image contains.
pub struct Edit {
    pub label: &'static str,
    pub changes_content: bool,
    apply: fn(&Path) -> std::io::Result<()>,
}

/// What one edit led to.
#[derive(Debug, Clone)]
pub struct EditOutcome {
    pub label: String,
    pub changes_content: bool,
    /// The Service's step in the preview before the up.
    pub preview_op: Option<Op>,
    /// Property paths the Service's preview named.
    pub preview_paths: Vec<String>,
    /// The pinned image the preview says the Service would run (None: unknown).
    pub preview_image: Option<String>,
    /// What the provider said about the Service in the preview.
    pub preview_reasons: Vec<String>,
    /// The Service's step in the up.
    pub up_op: Option<Op>,
    /// Task definition revisions registered by the up.
    pub new_revisions: usize,
    /// Pre-deploy tasks (the Service's `preDeploy` migration) the up started.
    pub pre_deploy_runs: usize,
    /// The pinned image the Service runs after the up.
    pub deployed_image: String,
    /// The Image's `ref` output after the up.
    pub image_ref: String,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct PromiseOutcome {
    /// Revisions registered by the first up.
    pub first_revisions: usize,
    pub first_image: String,
    pub edits: Vec<EditOutcome>,
}

impl PromiseOutcome {
    /// Every way the run broke the promise, in words; empty when it held.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.first_revisions != 1 {
            out.push(format!(
                "the first up registered {} revisions, not 1",
                self.first_revisions
            ));
        }
        let mut previous = self.first_image.clone();
        for e in &self.edits {
            let l = &e.label;
            if e.changes_content {
                if e.new_revisions != 1 {
                    out.push(format!(
                        "{l}: {} new revisions, expected exactly 1",
                        e.new_revisions
                    ));
                }
                if e.pre_deploy_runs != 1 {
                    out.push(format!(
                        "{l}: the migration ran {} times, expected once",
                        e.pre_deploy_runs
                    ));
                }
                if e.preview_op != Some(Op::Update) {
                    out.push(format!(
                        "{l}: preview showed {:?} for the Service, expected an update",
                        e.preview_op
                    ));
                }
                if e.deployed_image == previous {
                    out.push(format!("{l}: the Service still runs {previous}"));
                }
                if e.deployed_image != e.image_ref {
                    out.push(format!(
                        "{l}: the Service runs {} but the Image's ref is {}",
                        e.deployed_image, e.image_ref
                    ));
                }
                if e.preview_image.as_deref() != Some(e.deployed_image.as_str()) {
                    out.push(format!(
                        "{l}: preview showed image {:?}, the up deployed {}",
                        e.preview_image, e.deployed_image
                    ));
                }
            } else {
                if e.new_revisions != 0 {
                    out.push(format!(
                        "{l}: {} new revisions, expected none",
                        e.new_revisions
                    ));
                }
                if e.pre_deploy_runs != 0 {
                    out.push(format!(
                        "{l}: the migration ran {} times, expected never",
                        e.pre_deploy_runs
                    ));
                }
                if e.preview_op != Some(Op::Same) {
                    out.push(format!(
                        "{l}: preview showed {:?} for the Service (paths {:?}), expected no change",
                        e.preview_op, e.preview_paths
                    ));
                }
                if e.up_op != Some(Op::Same) {
                    out.push(format!(
                        "{l}: up made a {:?} step for the Service, expected none",
                        e.up_op
                    ));
                }
                if e.deployed_image != previous {
                    out.push(format!(
                        "{l}: the Service moved from {previous} to {}",
                        e.deployed_image
                    ));
                }
            }
            previous = e.deployed_image.clone();
        }
        out
    }
}

/// The edits, in the order the scenario makes them.
pub fn edits() -> Vec<Edit> {
    vec![
        Edit {
            label: "README edit",
            changes_content: false,
            apply: |dir| append(&dir.join("README.md"), "\nMore words nobody builds.\n"),
        },
        Edit {
            label: "touch every file",
            changes_content: false,
            apply: |dir| {
                let later = SystemTime::now() + Duration::from_secs(3600);
                for_each_file(dir, &mut |p| {
                    std::fs::File::options()
                        .write(true)
                        .open(p)?
                        .set_modified(later)
                })
            },
        },
        Edit {
            label: "chmod 600 of the context",
            changes_content: false,
            apply: |dir| {
                for_each_file(dir, &mut |p| {
                    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))
                })
            },
        },
        Edit {
            label: "chmod 644 of the context",
            changes_content: false,
            apply: |dir| {
                for_each_file(dir, &mut |p| {
                    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644))
                })
            },
        },
        Edit {
            label: "comment edit in the Dockerfile",
            changes_content: false,
            apply: |dir| {
                replace(
                    &dir.join("Dockerfile"),
                    "# Build stage",
                    "# Build stage: strips comments",
                )
            },
        },
        Edit {
            label: "source edit of a comment the build strips",
            changes_content: false,
            apply: |dir| {
                replace(
                    &dir.join("src/app.sh"),
                    "# says hello",
                    "# says hello to whoever asks",
                )
            },
        },
        Edit {
            label: "real source edit",
            changes_content: true,
            apply: |dir| replace(&dir.join("src/app.sh"), "hello v1", "hello v2"),
        },
    ]
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut s = std::fs::read_to_string(path)?;
    s.push_str(text);
    std::fs::write(path, s)
}

fn replace(path: &Path, from: &str, to: &str) -> std::io::Result<()> {
    let s = std::fs::read_to_string(path)?;
    if !s.contains(from) {
        return Err(std::io::Error::other(format!(
            "{} does not contain {from:?}",
            path.display()
        )));
    }
    std::fs::write(path, s.replace(from, to))
}

fn for_each_file(
    dir: &Path,
    f: &mut dyn FnMut(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            for_each_file(&path, f)?;
        } else {
            f(&path)?;
        }
    }
    Ok(())
}

/// The build context: a Dockerfile whose build stage strips comments from
/// the app's source, the source, and a README the Dockerfile never copies.
fn write_context(dir: &Path, base: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "# Build stage\n\
             FROM {base} AS build\n\
             COPY src/ /src/\n\
             RUN sed -e '/^#/d' /src/app.sh > /app.sh\n\
             \n\
             # Runtime image\n\
             FROM {base}\n\
             COPY --from=build /app.sh /app/app.sh\n\
             CMD [\"/bin/sh\", \"/app/app.sh\"]\n"
        ),
    )?;
    std::fs::write(
        dir.join("src/app.sh"),
        "#!/bin/sh\n# says hello\necho hello v1\n",
    )?;
    std::fs::write(dir.join("README.md"), "# The app\n\nSays hello.\n")
}

/// Everything the scenario runs against.
pub struct Stage {
    pub env: EcsEnv,
    pub registry: Registry,
    pub context: tempfile::TempDir,
    pub stack: Deployment,
}

impl Stage {
    /// Starts moto (behind the fault-injection proxy) and a registry, pushes
    /// a busybox base image and writes the build context.
    pub async fn start() -> anyhow::Result<Stage> {
        let env = EcsEnv::start().await?;
        let registry = Registry::start().context("the registry (docker-registry) is required")?;
        let base = images::push_base_image(&registry.address())?;
        let context = tempfile::tempdir()?;
        write_context(context.path(), &base)?;
        let stack = env.deployment()?;
        Ok(Stage {
            env,
            registry,
            context,
            stack,
        })
    }

    /// The program: an Image whose `ref` feeds the Service's container.
    pub fn program(&self) -> Program {
        let location = self.context.path().to_string_lossy().into_owned();
        Program::new()
            .config(self.env.provider_config())
            .resource(Resource::new(
                IMAGE_TYPE,
                IMAGE,
                json!({
                    "context": {"location": location},
                    "tags": [format!("{}/app:latest", self.registry.address())],
                    "builder": {"kind": "buildah"},
                    // A build cache shared through the registry, as CI
                    // machines that start empty would use it.
                    "cache": {
                        "from": [format!("{}/app-cache", self.registry.address())],
                        "to": format!("{}/app-cache", self.registry.address()),
                    },
                }),
            ))
            .resource(Resource::new(SERVICE_TYPE, SERVICE, {
                let mut inputs = self.env.service_inputs(&output(IMAGE, "ref"));
                // A migration from the new image before each switch.
                inputs["preDeploy"] = json!({"command": ["node", "migrate.js"]});
                // moto's RunTask fails (HTTP 500) without a container-level memory.
                inputs["containers"][0]["memory"] = json!(512);
                inputs
            }))
    }

    fn service_outputs(&self) -> anyhow::Result<Json> {
        Ok(self
            .stack
            .state()?
            .by_name(SERVICE)
            .map(|r| r.outputs.clone())
            .unwrap_or(Json::Null))
    }

    fn image_ref(&self) -> anyhow::Result<String> {
        Ok(self
            .stack
            .state()?
            .by_name(IMAGE)
            .and_then(|r| r.outputs["ref"].as_str().map(str::to_string))
            .unwrap_or_default())
    }

    async fn registered(&self) -> anyhow::Result<usize> {
        let family = self.service_outputs()?["family"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if family.is_empty() {
            return Ok(0);
        }
        self.env.registered_revisions(&family).await
    }
}

fn ensure_ok(what: &str, r: &Report) -> anyhow::Result<()> {
    if r.ok() {
        Ok(())
    } else {
        anyhow::bail!(
            "{what} failed:\n{}\n--- provider stderr ---\n{}",
            r.render(),
            r.stderr
        )
    }
}

fn service_reasons(r: &Report) -> Vec<String> {
    r.logs
        .iter()
        .filter(|l| l.urn.ends_with(&format!("::{SERVICE}")) && !l.ephemeral)
        .map(|l| l.message.clone())
        .collect()
}

/// Runs the whole scenario, passing what the engine would show to `show`.
pub async fn run(show: &mut (dyn FnMut(&str) + Send)) -> anyhow::Result<PromiseOutcome> {
    let stage = Stage::start().await?;
    run_on(&stage, show).await
}

/// [`run`] on a stage the caller started (and may inspect afterwards).
pub async fn run_on(
    stage: &Stage,
    show: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<PromiseOutcome> {
    let program = stage.program();
    show(&format!(
        "build context: {}",
        stage.context.path().display()
    ));
    let p = stage.stack.preview(&program).await?;
    show(&format!(
        "=== pulumi preview (new stack) ===\n{}",
        p.render()
    ));
    ensure_ok("the first preview", &p)?;
    let r = stage.stack.up(&program).await?;
    show(&format!("=== pulumi up ===\n{}", r.render()));
    ensure_ok("the first up", &r)?;
    let first_revisions = stage.registered().await?;
    let first_image = stage.service_outputs()?["images"]["web"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    show(&format!(
        "task definition revisions: {first_revisions}; the service runs {first_image}\n"
    ));

    let mut outcomes = Vec::new();
    for edit in edits() {
        (edit.apply)(stage.context.path()).with_context(|| format!("applying {:?}", edit.label))?;
        let before = stage.registered().await?;
        let p = stage.stack.preview(&program).await?;
        show(&format!(
            "=== {}: pulumi preview ===\n{}",
            edit.label,
            p.render()
        ));
        ensure_ok(&format!("the preview after the {}", edit.label), &p)?;
        let step = p.step(SERVICE);
        let preview_image = step
            .and_then(|s| s.outputs["images"]["web"].as_str())
            .filter(|s| *s != crate::values::UNKNOWN)
            .map(str::to_string);
        let runs_before = stage.env.proxy.count("RunTask");
        let r = stage.stack.up(&program).await?;
        show(&format!(
            "=== {}: pulumi up ===\n{}",
            edit.label,
            r.render()
        ));
        ensure_ok(&format!("the up after the {}", edit.label), &r)?;
        let after = stage.registered().await?;
        let outcome = EditOutcome {
            label: edit.label.to_string(),
            changes_content: edit.changes_content,
            preview_op: step.map(|s| s.op),
            preview_paths: step
                .map(|s| s.detailed_diff.keys().cloned().collect())
                .unwrap_or_default(),
            preview_image,
            preview_reasons: service_reasons(&p),
            up_op: r.op(SERVICE),
            new_revisions: after.saturating_sub(before),
            pre_deploy_runs: stage.env.proxy.count("RunTask") - runs_before,
            deployed_image: stage.service_outputs()?["images"]["web"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            image_ref: stage.image_ref()?,
        };
        show(&format!(
            "task definition revisions: {after} ({:+}); the service runs {}\n",
            after as i64 - before as i64,
            outcome.deployed_image
        ));
        outcomes.push(outcome);
    }
    Ok(PromiseOutcome {
        first_revisions,
        first_image,
        edits: outcomes,
    })
}
