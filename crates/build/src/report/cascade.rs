//! Steps rebuilt only because an earlier layer changed, and the advice for
//! the one case worth a word: a dependency install that ran again although
//! no dependency manifest changed (`COPY . .` before `RUN npm ci`). Builders
//! cache by prefix, so every step after a changed layer runs again; moving
//! the install before the sources makes a source change reuse it.

use std::collections::BTreeMap;

use imagedeploy_fingerprint::Manifest;

use super::history::keyword;
use super::{Layer, Step};

/// Advice about one step the layer order made run again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advice {
    /// The dependency install that ran again.
    pub step: Step,
    /// The first changed step, as reports name it.
    pub cause: String,
    /// The dependency manifests to copy before the install.
    pub manifests: Vec<String>,
}

impl std::fmt::Display for Advice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let manifests = if self.manifests.is_empty() {
            "the dependency manifests".to_string()
        } else {
            format!("the dependency manifests ({})", self.manifests.join(", "))
        };
        write!(
            f,
            "{} ran again only because {} changed, not its own inputs: copy {manifests} and run the install before copying the sources, so a source change reuses the installed dependencies",
            self.step, self.cause
        )
    }
}

/// A dependency installer: the program, the sub-commands that install
/// (empty: the bare program does), and the files it reads.
struct Installer {
    program: &'static str,
    commands: &'static [&'static str],
    manifests: &'static [&'static str],
}

const INSTALLERS: &[Installer] = &[
    Installer {
        program: "npm",
        commands: &["ci", "install", "i"],
        manifests: &["package.json", "package-lock.json", "npm-shrinkwrap.json"],
    },
    Installer {
        program: "yarn",
        commands: &["", "install"],
        manifests: &["package.json", "yarn.lock", ".yarnrc.yml"],
    },
    Installer {
        program: "pnpm",
        commands: &["install", "i"],
        manifests: &["package.json", "pnpm-lock.yaml"],
    },
    Installer {
        program: "pip",
        commands: &["install"],
        manifests: &[
            "requirements.txt",
            "pyproject.toml",
            "setup.py",
            "setup.cfg",
        ],
    },
    Installer {
        program: "pip3",
        commands: &["install"],
        manifests: &[
            "requirements.txt",
            "pyproject.toml",
            "setup.py",
            "setup.cfg",
        ],
    },
    Installer {
        program: "poetry",
        commands: &["install"],
        manifests: &["pyproject.toml", "poetry.lock"],
    },
    Installer {
        program: "uv",
        commands: &["sync"],
        manifests: &["pyproject.toml", "uv.lock"],
    },
    Installer {
        program: "bundle",
        commands: &["install"],
        manifests: &["Gemfile", "Gemfile.lock"],
    },
    Installer {
        program: "go",
        commands: &["mod"],
        manifests: &["go.mod", "go.sum"],
    },
    Installer {
        program: "cargo",
        commands: &["fetch"],
        manifests: &["Cargo.toml", "Cargo.lock"],
    },
    Installer {
        program: "composer",
        commands: &["install"],
        manifests: &["composer.json", "composer.lock"],
    },
];

/// Whether `layer`, after the first change, ran again although its own
/// instruction is the one the previous image had at that place and it
/// reads nothing from the context (a `RUN`, or a `COPY --from`).
pub fn rebuilt_only_by_order(layer: &Layer, old: Option<&Layer>) -> bool {
    let (Some(text), Some(old_text)) = (
        layer.instruction.as_deref(),
        old.and_then(|o| o.instruction.as_deref()),
    ) else {
        return false;
    };
    if text != old_text {
        return false;
    }
    match keyword(text).as_str() {
        "RUN" => !text.contains("type=bind"),
        "COPY" | "ADD" => text.contains("--from="),
        _ => false,
    }
}

/// The installer a `RUN` step runs, if any.
fn installer(step: &Step) -> Option<&'static Installer> {
    if keyword(&step.instruction) != "RUN" {
        return None;
    }
    let words: Vec<&str> = step
        .instruction
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '"' | '[' | ']' | ','))
        .filter(|w| !w.is_empty())
        .collect();
    INSTALLERS.iter().find(|installer| {
        words.iter().enumerate().any(|(i, word)| {
            let program = word.rsplit('/').next().unwrap_or(word);
            if program != installer.program {
                return false;
            }
            let next = words.get(i + 1).copied().unwrap_or_default();
            installer
                .commands
                .iter()
                .any(|c| *c == next || (c.is_empty() && (next.is_empty() || next.starts_with('-'))))
        })
    })
}

fn is_manifest_of(path: &str, installer: &Installer) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    installer.manifests.contains(&name)
        || (installer.program.starts_with("pip")
            && name.starts_with("requirements")
            && name.ends_with(".txt"))
}

/// Paths added, removed or changed between two fingerprints.
pub(super) fn changed_paths(old: &Manifest, new: &Manifest) -> Vec<String> {
    let old: BTreeMap<&str, &str> = old
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = new
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let mut changed: Vec<String> = new
        .iter()
        .filter(|(path, hash)| old.get(*path) != Some(*hash))
        .map(|(path, _)| path.to_string())
        .collect();
    changed.extend(
        old.keys()
            .filter(|path| !new.contains_key(*path))
            .map(|p| p.to_string()),
    );
    changed
}

/// Advice for each dependency install in `cascade` whose manifests did not
/// change. Without the previous fingerprint the files count as unchanged.
pub fn advise(
    cause: &str,
    cascade: &[Step],
    old_manifest: Option<&Manifest>,
    new_manifest: &Manifest,
) -> Vec<Advice> {
    let changed = old_manifest
        .map(|old| changed_paths(old, new_manifest))
        .unwrap_or_default();
    cascade
        .iter()
        .filter_map(|step| {
            let installer = installer(step)?;
            if changed.iter().any(|path| is_manifest_of(path, installer)) {
                return None;
            }
            let manifests = new_manifest
                .files
                .iter()
                .filter(|f| is_manifest_of(&f.path, installer))
                .map(|f| f.path.clone())
                .collect();
            Some(Advice {
                step: step.clone(),
                cause: cause.to_string(),
                manifests,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(text: &str) -> Step {
        Step {
            instruction: text.into(),
            line: Some(3),
        }
    }

    #[test]
    fn installers_are_recognised_and_others_are_not() {
        assert_eq!(
            installer(&step("RUN npm ci")).map(|i| i.program),
            Some("npm")
        );
        assert_eq!(
            installer(&step(
                "RUN cd /app && /usr/local/bin/npm install --omit=dev"
            ))
            .map(|i| i.program),
            Some("npm")
        );
        assert_eq!(
            installer(&step("RUN yarn")).map(|i| i.program),
            Some("yarn")
        );
        assert_eq!(
            installer(&step("RUN pip install -r requirements.txt")).map(|i| i.program),
            Some("pip")
        );
        assert!(installer(&step("RUN npm run build")).is_none());
        assert!(installer(&step("COPY npm ci")).is_none());
        assert!(installer(&step("RUN make")).is_none());
    }

    #[test]
    fn requirements_variants_are_pip_manifests() {
        let pip = &INSTALLERS[3];
        assert!(is_manifest_of("api/requirements-prod.txt", pip));
        assert!(!is_manifest_of("src/app.py", pip));
    }
}
