//! Preview's estimate when it does not build: which Dockerfile steps will
//! run again, from the two fingerprints alone. The first step of the target's
//! chain whose text changed, or whose `COPY`/`ADD` reads a changed file, is
//! where the builder's cache stops; every step after it runs again. An
//! estimate: the exact figures come from the build at `up`.

use imagedeploy_fingerprint::Manifest;

use super::cascade::{advise, changed_paths, Advice};
use super::history::{chain, keyword, ChainInstruction};
use super::Step;

/// The steps a build will run again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Where the cache stops; `None` when nothing in the chain changed.
    pub first: Option<Step>,
    /// The steps that run again, the first included.
    pub rebuilt: Vec<Step>,
    /// Dependency installs that will run again only because of the order.
    pub advice: Vec<Advice>,
}

fn step(c: &ChainInstruction) -> Step {
    Step {
        instruction: c.text.clone(),
        line: Some(c.line as u64),
    }
}

/// The estimate of a build of `new` after one of `old`.
pub fn estimate(old: &Manifest, new: &Manifest) -> Estimate {
    let before = chain(&old.inputs.instructions, &old.inputs.target);
    let after = chain(&new.inputs.instructions, &new.inputs.target);
    let everything = old.inputs.base_images != new.inputs.base_images
        || old.inputs.build_args != new.inputs.build_args
        || old.inputs.platforms != new.inputs.platforms
        || old.inputs.target != new.inputs.target;
    let changed = changed_paths(old, new);
    let first = if everything {
        (!after.is_empty()).then_some(0)
    } else {
        after.iter().enumerate().position(|(i, c)| {
            before.get(i).map(|b| &b.text) != Some(&c.text)
                || changed.iter().any(|path| reads(c, path))
        })
    };
    let Some(first) = first else {
        return Estimate {
            first: None,
            rebuilt: Vec::new(),
            advice: Vec::new(),
        };
    };
    let rebuilt: Vec<Step> = after[first..].iter().map(step).collect();
    // Only steps whose own text did not change ran again because of order.
    let cascade: Vec<Step> = after[first + 1..]
        .iter()
        .enumerate()
        .filter(|(offset, c)| before.get(first + 1 + offset).map(|b| &b.text) == Some(&c.text))
        .map(|(_, c)| step(c))
        .collect();
    let cause = step(&after[first]).to_string();
    Estimate {
        first: Some(step(&after[first])),
        advice: advise(&cause, &cascade, Some(old), new),
        rebuilt,
    }
}

/// Whether a `COPY`/`ADD` from the context reads `path` (by its sources:
/// a directory, a file, or a pattern up to its first wildcard).
fn reads(instruction: &ChainInstruction, path: &str) -> bool {
    if !matches!(keyword(&instruction.text).as_str(), "COPY" | "ADD")
        || instruction.text.contains("--from=")
    {
        return false;
    }
    let words: Vec<&str> = instruction
        .text
        .split_whitespace()
        .skip(1)
        .filter(|w| !w.starts_with("--"))
        .collect();
    let Some((_, sources)) = words.split_last() else {
        return false;
    };
    sources.iter().any(|source| {
        let source = source.trim_start_matches("./").trim_start_matches('/');
        if source.is_empty() || source == "." {
            return true;
        }
        match source.find(['*', '?', '[']) {
            // A pattern: anything that starts like it (an estimate).
            Some(i) => path.starts_with(&source[..i]),
            None => {
                let source = source.trim_end_matches('/');
                path == source
                    || path
                        .strip_prefix(source)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> ChainInstruction {
        ChainInstruction {
            stage: "0".into(),
            line: 1,
            text: text.into(),
            keyword: keyword(text),
        }
    }

    #[test]
    fn copy_sources_read_paths() {
        assert!(reads(&c("COPY . /app"), "src/a.js"));
        assert!(reads(&c("COPY src/ /app/"), "src/a.js"));
        assert!(!reads(&c("COPY src/ /app/"), "srcx/a.js"));
        assert!(reads(&c("COPY package*.json /app/"), "package-lock.json"));
        assert!(!reads(&c("COPY package.json /app/"), "src/package.json"));
        assert!(reads(
            &c("COPY --chown=1:1 package.json yarn.lock /app/"),
            "yarn.lock"
        ));
        assert!(!reads(&c("COPY --from=build /out /app"), "out/x"));
        assert!(!reads(&c("RUN cat src/a.js"), "src/a.js"));
    }
}
