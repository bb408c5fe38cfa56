//! Image input checks that need more than types: paths exist, the
//! Dockerfile parses, tags are references. Run at preview, so mistakes show
//! before anything is built.

use imagedeploy_fingerprint::dockerfile;
use imagedeploy_registry::Reference;

use super::args::{BaseImagePull, BuilderKind, ImageArgs};

/// Why `baseImagePull: never` is refused with the Docker engine.
pub const PULL_NEVER_NEEDS_BUILDAH: &str = "\"never\" needs the buildah builder (builder.kind \"buildah\"): the Docker engine's BuildKit keeps base images in its own store and cannot be kept from contacting registries for them";
use super::inputs::{resolve, DockerfileSource};
use crate::resource::{Ctx, Failure};

pub fn check(ctx: &Ctx, args: &ImageArgs) -> Vec<Failure> {
    let mut failures = Vec::new();
    let resolved = resolve(args);

    if !ctx.is_unknown("context") {
        let dir = &resolved.context;
        if !dir.is_dir() {
            failures.push(Failure::new(
                "context.location",
                format!(
                    "build context directory \"{}\" does not exist (resolved to {}); paths are relative to the program's directory",
                    args.context.location,
                    dir.display()
                ),
            ));
        }
    }

    if let Some(d) = &args.dockerfile {
        if !ctx.is_unknown("dockerfile") && d.location.is_some() == d.inline.is_some() {
            failures.push(Failure::new(
                "dockerfile",
                "set exactly one of `location` (a path) or `inline` (the Dockerfile's text)",
            ));
        }
    }
    if !ctx.is_unknown("dockerfile") && !ctx.is_unknown("context") && failures.is_empty() {
        check_dockerfile(args, &resolved.dockerfile, &mut failures);
    }

    let push = args.push.unwrap_or(true);
    let tags = args.tags.clone().unwrap_or_default();
    if push && tags.is_empty() && !ctx.is_unknown("tags") && !ctx.is_unknown("push") {
        failures.push(Failure::new(
            "tags",
            "`push` is true (the default) but no `tags` are set; add a tag such as \"registry.example.com/app:latest\" or set `push: false`",
        ));
    }
    if !ctx.is_unknown("tags") {
        for (i, tag) in tags.iter().enumerate() {
            if let Err(e) = Reference::parse(tag) {
                failures.push(Failure::new(
                    format!("tags[{i}]"),
                    format!("\"{tag}\" is not an image reference ({e}); example: registry.example.com/team/app:1.2"),
                ));
            }
        }
    }

    if let Some(platforms) = &args.platforms {
        if platforms.len() > 1 {
            failures.push(Failure::new(
                "platforms",
                "only one platform per image is supported; create one Image per platform",
            ));
        }
        for (i, p) in platforms.iter().enumerate() {
            if !ctx.is_unknown("platforms") && !p.contains('/') {
                failures.push(Failure::new(
                    format!("platforms[{i}]"),
                    format!("\"{p}\" is not a platform; example: linux/amd64"),
                ));
            }
        }
    }

    if let Some(t) = args.build_timeout_seconds {
        if t <= 0 {
            failures.push(Failure::new(
                "buildTimeoutSeconds",
                format!("must be a positive number of seconds, got {t}"),
            ));
        }
    }

    if let Some(seconds) = args
        .base_image_refresh
        .as_ref()
        .and_then(|r| r.interval_seconds)
    {
        if seconds <= 0 {
            failures.push(Failure::new(
                "baseImageRefresh.intervalSeconds",
                format!("must be a positive number of seconds, got {seconds}"),
            ));
        }
    }
    let docker = args.builder.as_ref().and_then(|b| b.kind) == Some(BuilderKind::Docker);
    if docker && args.base_image_pull == Some(BaseImagePull::Never) {
        failures.push(Failure::new("baseImagePull", PULL_NEVER_NEEDS_BUILDAH));
    }

    if let Some(registries) = &args.registries {
        for (i, r) in registries.iter().enumerate() {
            if !ctx.is_unknown("registries") && r.address.trim().is_empty() {
                failures.push(Failure::new(
                    format!("registries[{i}].address"),
                    "must not be empty",
                ));
            }
            if r.password.is_some() && r.username.is_none() {
                failures.push(Failure::new(
                    format!("registries[{i}].username"),
                    "a password was given without a username",
                ));
            }
        }
    }

    if let Some(host) = args.builder.as_ref().and_then(|b| b.host.as_deref()) {
        if !host.contains("://") {
            failures.push(Failure::new(
                "builder.host",
                format!("\"{host}\" is not a DOCKER_HOST value; examples: unix:///var/run/docker.sock, ssh://user@host, tcp://10.0.0.5:2376"),
            ));
        }
    }
    failures
}

fn check_dockerfile(args: &ImageArgs, input: &DockerfileSource, failures: &mut Vec<Failure>) {
    let (property, text) = match input {
        DockerfileSource::Inline(text) => ("dockerfile.inline", text.clone()),
        DockerfileSource::Path(path) => {
            let property = if args.dockerfile.is_some() {
                "dockerfile.location"
            } else {
                "context.location"
            };
            match std::fs::read_to_string(path) {
                Ok(text) => (property, text),
                Err(e) => {
                    failures.push(Failure::new(
                        property,
                        format!("cannot read Dockerfile {}: {e}", path.display()),
                    ));
                    return;
                }
            }
        }
    };
    // A defaulted Dockerfile that cannot be read is the context's fault; one
    // that does not parse is the Dockerfile's, even when it was not named.
    let property = if args.dockerfile.is_none() {
        "dockerfile"
    } else {
        property
    };
    let parsed = match dockerfile::parse(&text) {
        Ok(parsed) => parsed,
        Err(e) => {
            failures.push(Failure::new(
                property,
                format!("Dockerfile syntax error: {e}"),
            ));
            return;
        }
    };
    let build_args = args.build_args.clone().unwrap_or_default();
    if let Err(e) = dockerfile::plan(&parsed, args.target.as_deref(), &build_args) {
        let property = if args.target.is_some() {
            "target"
        } else {
            property
        };
        failures.push(Failure::new(property, e.to_string()));
    }
}
