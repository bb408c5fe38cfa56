//! Image input checks that need more than types: paths exist, the
//! Dockerfile parses, tags are references. Run at preview, so mistakes show
//! before anything is built.

use imagedeploy_fingerprint::{dockerfile, ignore, userfile};
use imagedeploy_registry::Reference;

use super::args::{BaseImagePull, BuilderKind, ImageArgs};

/// Why `baseImagePull: never` is refused with the Docker engine.
pub const PULL_NEVER_NEEDS_BUILDAH: &str = "\"never\" needs the buildah builder (builder.kind \"buildah\"): the Docker engine's BuildKit keeps base images in its own store and cannot be kept from contacting registries for them";
use super::inputs::{resolve, DockerfileSource};
use crate::resource::{Ctx, Failure};
use pulumi_provider::wire::path::Path;

/// `"value"` for a message, or a note that it is secret: a secret input is
/// named by its property, never quoted.
fn quoted(ctx: &Ctx, property: &str, value: &str) -> String {
    if ctx.is_secret_at(property) {
        "(secret value, not shown)".to_string()
    } else {
        format!("\"{value}\"")
    }
}

/// Names of the build args whose values are secret.
pub fn secret_build_args(
    ctx: &Ctx,
    build_args: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeSet<String> {
    build_args
        .keys()
        .filter(|name| ctx.is_secret_at(&build_arg_path(name)))
        .cloned()
        .collect()
}

fn build_arg_path(name: &str) -> String {
    Path::root().key("buildArgs").key(name).to_string()
}

/// A secret build arg is kept off the builder's command line and masked
/// in its output, but an ARG value is recorded in the image history (and
/// in any layer a RUN writes it to): say so, and point at `secrets`.
pub fn warn_about_secret_build_args(ctx: &Ctx, args: &ImageArgs) {
    let names = secret_build_args(ctx, args.build_args.as_ref().unwrap_or(&Default::default()));
    if names.is_empty() {
        return;
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    ctx.warn(&format!(
        "build arg {} is secret: its value is kept off the builder's command line and masked in build output, but ARG values are recorded in the image history (`docker history` shows them) where anyone who can pull the image can read them; pass secrets with `secrets` and `RUN --mount=type=secret,id=...` instead",
        names.join(", ")
    ));
}

pub fn check(ctx: &Ctx, args: &ImageArgs) -> Vec<Failure> {
    let mut failures = Vec::new();
    check_secret_names(ctx, args, &mut failures);
    let resolved = resolve(args);

    if !ctx.is_unknown("context") {
        let dir = &resolved.context;
        if !dir.is_dir() {
            let message = if ctx.is_secret_at("context.location") {
                "the build context directory (a secret value, not shown) does not exist; paths are relative to the program's directory".to_string()
            } else {
                format!(
                    "build context directory \"{}\" does not exist (resolved to {}); paths are relative to the program's directory",
                    args.context.location,
                    dir.display()
                )
            };
            failures.push(Failure::new("context.location", message));
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
        check_dockerfile(
            ctx,
            args,
            &resolved.context,
            &resolved.dockerfile,
            &mut failures,
        );
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
                    if ctx.is_secret_at(&format!("tags[{i}]")) {
                        "the tag (a secret value, not shown) is not an image reference; example: registry.example.com/team/app:1.2".to_string()
                    } else {
                        format!("\"{tag}\" is not an image reference ({e}); example: registry.example.com/team/app:1.2")
                    },
                ));
            }
        }
    }

    if let Some(platforms) = &args.platforms {
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in platforms.iter().enumerate() {
            if ctx.is_unknown("platforms") {
                break;
            }
            let property = format!("platforms[{i}]");
            match imagedeploy_registry::Platform::parse(p) {
                None => failures.push(Failure::new(
                    property.clone(),
                    format!(
                        "{} is not a platform; write os/architecture[/variant], for example linux/amd64 or linux/arm64",
                        quoted(ctx, &property, p)
                    ),
                )),
                Some(parsed) if !seen.insert(parsed.clone()) => failures.push(Failure::new(
                    property,
                    format!("{parsed} is listed twice; list each platform once"),
                )),
                Some(_) => {}
            }
        }
    }

    if let Some(t) = args.build_timeout_seconds {
        if t <= 0 {
            failures.push(Failure::new(
                "buildTimeoutSeconds",
                if ctx.is_secret_at("buildTimeoutSeconds") {
                    "must be a positive number of seconds".to_string()
                } else {
                    format!("must be a positive number of seconds, got {t}")
                },
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

    if let Some(cache) = &args.cache {
        super::cache::check(
            cache,
            args.builder.as_ref().and_then(|b| b.kind),
            &mut failures,
        );
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
                format!("{} is not a DOCKER_HOST value; examples: unix:///var/run/docker.sock, ssh://user@host, tcp://10.0.0.5:2376", quoted(ctx, "builder.host", host)),
            ));
        }
    }
    failures
}

/// Reads the Dockerfile the way the fingerprint will (non-blocking, regular
/// files only, size-bounded; see `userfile`) and checks that it parses and
/// plans, and that the ignore file it will use can be read.
fn check_dockerfile(
    ctx: &Ctx,
    args: &ImageArgs,
    context: &std::path::Path,
    input: &DockerfileSource,
    failures: &mut Vec<Failure>,
) {
    let (property, text) = match input {
        DockerfileSource::Inline(text) => ("dockerfile.inline", text.clone()),
        DockerfileSource::Path(path) => {
            let property = if args.dockerfile.is_some() {
                "dockerfile.location"
            } else {
                "context.location"
            };
            match userfile::read_text(path, userfile::DOCKERFILE_LIMIT) {
                Ok(text) => (property, text),
                Err(e) => {
                    let shown = if ctx.is_secret_at(property) {
                        "the Dockerfile (its path is secret, not shown)".to_string()
                    } else {
                        format!("Dockerfile {}", path.display())
                    };
                    failures.push(Failure::new(property, format!("{shown} {e}")));
                    return;
                }
            }
        }
    };
    let dockerfile_path = match input {
        DockerfileSource::Path(path) => Some(path.as_path()),
        DockerfileSource::Inline(_) => None,
    };
    if let Some(ignore_file) = ignore::locate(context, dockerfile_path) {
        if let Err(e) = userfile::read_text(&ignore_file, userfile::IGNORE_FILE_LIMIT) {
            let shown = if ctx.is_secret_at("context.location") || ctx.is_secret_at(property) {
                "the ignore file".to_string()
            } else {
                format!("ignore file {}", ignore_file.display())
            };
            failures.push(Failure::new("context.location", format!("{shown} {e}")));
            return;
        }
    }
    // A defaulted Dockerfile that cannot be read is the context's fault; one
    // that does not parse is the Dockerfile's, even when it was not named.
    let property = if args.dockerfile.is_none() {
        "dockerfile"
    } else {
        property
    };
    // A secret Dockerfile (its text, or its path) is described, not quoted.
    let secret = ctx.is_secret_at("dockerfile") || ctx.is_secret_at("context.location");
    let parsed = match dockerfile::parse(&text) {
        Ok(parsed) => parsed,
        Err(e) if secret => {
            failures.push(Failure::new(
                property,
                format!(
                    "Dockerfile syntax error at line {} (the Dockerfile is secret: details not shown)",
                    e.line()
                ),
            ));
            return;
        }
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
        let message = if secret {
            "the Dockerfile cannot be planned (it is secret: details not shown)".to_string()
        } else {
            e.to_string()
        };
        failures.push(Failure::new(property, message));
    }
}

/// Secret ids and the names of secret build args must be usable by the
/// builder (`--secret id=<id>,src=...`, an environment variable): fail at
/// Check, not in the middle of a build. Label and build arg keys must not
/// hold NUL (no command line can carry it).
fn check_secret_names(ctx: &Ctx, args: &ImageArgs, failures: &mut Vec<Failure>) {
    for id in args.secrets.iter().flatten().map(|(id, _)| id) {
        if let Some(problem) = imagedeploy_build::secret_id_problem(id) {
            failures.push(Failure::new(
                Path::root().key("secrets").key(id).to_string(),
                format!("{problem}; ids are used as `RUN --mount=type=secret,id=<id>`"),
            ));
        }
    }
    let build_args = args.build_args.clone().unwrap_or_default();
    for name in secret_build_args(ctx, &build_args) {
        if let Some(problem) = imagedeploy_build::secret_build_arg_problem(&name) {
            failures.push(Failure::new(build_arg_path(&name), problem));
        }
    }
    for (property, map) in [
        ("buildArgs", args.build_args.as_ref()),
        ("labels", args.labels.as_ref()),
    ] {
        for (key, value) in map.into_iter().flatten() {
            if value.contains('\0') && !key.contains('\0') {
                failures.push(Failure::new(
                    Path::root().key(property).key(key).to_string(),
                    "the value contains NUL, which no builder can be given",
                ));
            }
            if key.is_empty()
                || key.contains('\0')
                || (property == "buildArgs" && key.contains('='))
            {
                failures.push(Failure::new(
                    Path::root().key(property).key(key).to_string(),
                    format!(
                        "{property} keys must be non-empty and contain no NUL{}",
                        if property == "buildArgs" {
                            " or '='"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
    }
}
