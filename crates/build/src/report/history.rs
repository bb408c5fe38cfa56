//! Which Dockerfile instruction made which history entry. The config's
//! history ends with one entry per instruction of the target stage's chain
//! (its own and those of the stages it is `FROM`); the entries before them
//! are the base image's. Both builders write the instruction's keyword
//! first (buildah after `/bin/sh -c #(nop) `, except for `RUN`, which it
//! writes as the shell command; BuildKit as `RUN /bin/sh -c ...`), so the
//! two lists are matched from the end by keyword.

use imagedeploy_fingerprint::manifest::Instruction;

/// An instruction of the target's stage chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainInstruction {
    pub stage: String,
    pub line: usize,
    pub text: String,
    pub keyword: String,
}

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// The keyword of a canonical instruction text or a history `created_by`.
pub fn keyword(text: &str) -> String {
    let text = text.trim();
    let text = text
        .strip_prefix("/bin/sh -c #(nop)")
        .map(str::trim_start)
        .unwrap_or(text);
    let first = text.split_whitespace().next().unwrap_or_default();
    let upper = first.to_ascii_uppercase();
    if first == upper && KEYWORDS.contains(&upper.as_str()) {
        upper
    } else {
        // buildah records RUN as the command itself (`/bin/sh -c ...`,
        // `|1 ARG=v /bin/sh -c ...`).
        "RUN".to_string()
    }
}

struct Stage {
    name: String,
    from: String,
    instructions: Vec<ChainInstruction>,
}

/// The instructions of `target`'s chain, base-most first. `instructions`
/// is the fingerprint's list (reachable stages in file order, each from
/// its `FROM`); an unknown target means the last stage.
pub fn chain(instructions: &[Instruction], target: &str) -> Vec<ChainInstruction> {
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        let words: Vec<&str> = ins.text.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        {
            let image = words[1..]
                .iter()
                .find(|w| !w.starts_with("--"))
                .copied()
                .unwrap_or_default();
            let name = words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("AS"))
                .and_then(|i| words.get(i + 1))
                .map(|n| n.to_ascii_lowercase())
                .unwrap_or_else(|| stages.len().to_string());
            stages.push(Stage {
                name,
                from: image.to_ascii_lowercase(),
                instructions: Vec::new(),
            });
            continue;
        }
        let Some(stage) = stages.last_mut() else {
            // Directives and global ARGs come before the first FROM.
            continue;
        };
        stage.instructions.push(ChainInstruction {
            stage: stage.name.clone(),
            line: ins.line,
            text: ins.text.clone(),
            keyword: keyword(&ins.text),
        });
    }
    let target = target.to_ascii_lowercase();
    let mut index = stages
        .iter()
        .position(|s| s.name == target)
        .or_else(|| stages.len().checked_sub(1));
    let mut chain: Vec<ChainInstruction> = Vec::new();
    let mut seen = 0;
    while let Some(i) = index {
        let stage = &stages[i];
        chain.splice(0..0, stage.instructions.iter().cloned());
        seen += 1;
        index = stages[..i].iter().rposition(|s| s.name == stage.from);
        if seen > stages.len() {
            break;
        }
    }
    chain
}

/// For each history entry, the chain instruction that made it.
pub fn map(history: &[String], chain: &[ChainInstruction]) -> Vec<Option<usize>> {
    let mut out = vec![None; history.len()];
    let mut j = chain.len();
    for (i, created_by) in history.iter().enumerate().rev() {
        let wanted = keyword(created_by);
        // Instructions without an entry of their own (buildah writes none
        // for ARG) are passed over.
        let found = chain[..j].iter().rposition(|c| c.keyword == wanted);
        match found {
            Some(k) if chain[k + 1..j].iter().all(|c| c.keyword == "ARG") => {
                out[i] = Some(k);
                j = k;
            }
            _ => break,
        }
        if j == 0 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(line: usize, text: &str) -> Instruction {
        Instruction {
            line,
            text: text.into(),
        }
    }

    #[test]
    fn keywords_from_both_builders() {
        assert_eq!(keyword("/bin/sh -c #(nop) COPY dir:abc in /app"), "COPY");
        assert_eq!(keyword("/bin/sh -c npm ci"), "RUN");
        assert_eq!(keyword("|1 NODE_ENV=prod /bin/sh -c npm ci"), "RUN");
        assert_eq!(keyword("RUN /bin/sh -c npm ci # buildkit"), "RUN");
        assert_eq!(keyword("COPY . . # buildkit"), "COPY");
        assert_eq!(keyword("WORKDIR /app"), "WORKDIR");
        assert_eq!(keyword("COPY . /app"), "COPY");
    }

    #[test]
    fn chain_follows_from_stage() {
        let list = [
            ins(1, "ARG V=1"),
            ins(2, "FROM base:1 AS deps"),
            ins(3, "COPY package.json ./"),
            ins(4, "FROM other:2 AS unrelated"),
            ins(5, "RUN x"),
            ins(6, "FROM deps"),
            ins(7, "COPY . ."),
        ];
        let chain = chain(&list, "2");
        let lines: Vec<usize> = chain.iter().map(|c| c.line).collect();
        assert_eq!(lines, vec![3, 7]);
        assert_eq!(chain[0].stage, "deps");
        assert_eq!(chain[1].stage, "2");
    }

    #[test]
    fn history_maps_from_the_end_passing_over_args() {
        let chain = chain(
            &[
                ins(1, "FROM base:1"),
                ins(2, "ARG MODE"),
                ins(3, "COPY a /a"),
                ins(4, "RUN make"),
                ins(5, "CMD [\"x\"]"),
            ],
            "0",
        );
        let history: Vec<String> = [
            "/bin/sh -c #(nop) ADD file:1 in /",
            "/bin/sh -c #(nop) CMD [\"sh\"]",
            "/bin/sh -c #(nop) COPY file:2 in /a",
            "|1 MODE=x /bin/sh -c make",
            "/bin/sh -c #(nop) CMD [\"x\"]",
        ]
        .map(String::from)
        .to_vec();
        let mapped = map(&history, &chain);
        assert_eq!(mapped, vec![None, None, Some(1), Some(2), Some(3)]);
    }
}
