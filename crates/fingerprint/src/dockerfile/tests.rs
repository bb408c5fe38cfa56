//! Parser/planner table tests on whole Dockerfiles.

use std::collections::BTreeMap;

use super::*;

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn plan_of(text: &str, target: Option<&str>, build_args: &[(&str, &str)]) -> BuildPlan {
    let df = parse(text).unwrap_or_else(|e| panic!("parse failed: {e}\n{text}"));
    plan(&df, target, &args(build_args)).unwrap_or_else(|e| panic!("plan failed: {e}\n{text}"))
}

fn texts(p: &BuildPlan) -> Vec<String> {
    p.instructions.iter().map(|i| i.text.clone()).collect()
}

fn sources(p: &BuildPlan) -> Vec<Vec<String>> {
    p.context_sources
        .iter()
        .map(|c| c.sources.clone())
        .collect()
}

#[test]
fn keywords_case_and_lines() {
    let df = parse("from alpine:3.20 as Build\n\nrun   echo hi\n").unwrap();
    assert_eq!(df.stages.len(), 1);
    assert_eq!(df.stages[0].name.as_deref(), Some("build"));
    assert_eq!(df.stages[0].from.canonical, "FROM alpine:3.20 AS build");
    assert_eq!(df.stages[0].instructions[0].line, 3);
    assert_eq!(df.stages[0].instructions[0].canonical, "RUN echo hi");
}

#[test]
fn errors_carry_lines() {
    let e = parse("FROM a\nCOPY x /\n\nCOPPY y /\n").unwrap_err();
    assert_eq!(e.to_string(), "line 4: unknown instruction: COPPY");
    assert_eq!(e.line(), 4);
    assert_eq!(
        parse("RUN x\n").unwrap_err(),
        ParseError::NoBuildStage { line: 1 }
    );
    assert_eq!(parse("# only\n\n").unwrap_err(), ParseError::Empty);
    assert_eq!(parse("ARG A=1\n").unwrap_err(), ParseError::NoStages);
    let msg = |t: &str| parse(t).unwrap_err().to_string();
    assert!(msg("FROM a b\n").contains("one or three"));
    assert!(msg("FROM a AS 1x\n").contains("invalid name"));
    assert!(msg("FROM a\nCOPY onlyone\n").contains("at least two"));
    assert!(msg("FROM a\nSHELL /bin/sh -c\n").contains("JSON form"));
    assert!(msg("FROM a\nCOPY --frm=x a b\n").contains("unknown flag: frm"));
    assert!(msg("FROM a\nRUN [\"a\", 1]\n").contains("strings only"));
    assert!(msg("FROM a\nRUN <<END\nbody\n").contains("line 2: unterminated heredoc"));
    assert!(msg("FROM a\nCOPY <<END <<X\nEND\nX\n").contains("destination"));
    assert!(parse("FROM a\nENV\n").is_err());
    assert!(parse("FROM a\nENV a=1 b\n").is_err());
    assert!(parse("FROM a\nHEALTHCHECK FOO x\n").is_err());
    assert!(parse("FROM a\nONBUILD ONBUILD RUN x\n").is_err());
}

#[test]
fn all_instructions_parse() {
    let text = r#"# syntax=docker/dockerfile:1.7
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
LABEL org.opencontainers.image.title="demo app" version=1
LABEL maintainer someone here
MAINTAINER me <me@example.com>
ENV A=1 B="two words"
ENV OLD form   keeps  spaces
WORKDIR /src
USER 1000:1000
EXPOSE 8080/tcp   9090
VOLUME ["/data", "/logs"]
VOLUME /a /b
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/ || exit 1
HEALTHCHECK NONE
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ONBUILD COPY . /app
ONBUILD RUN make   all
CMD ["./app", "--serve"]
ENTRYPOINT /bin/app   --flag
RUN --network=none --security=insecure ["echo", "x"]
ADD --chown=1:1 --chmod=755 --link --checksum=sha256:abc https://example.com/f.tgz /f.tgz
ADD --keep-git-dir=true git@github.com:moby/buildkit.git /bk
COPY --parents --exclude=*.md --exclude=docs/ ./src ./lib /out/
"#;
    let df = parse(text).unwrap();
    assert_eq!(
        df.directives.syntax.as_deref(),
        Some("docker/dockerfile:1.7")
    );
    let c: Vec<&str> = df.stages[0]
        .instructions
        .iter()
        .map(|i| i.canonical.as_str())
        .collect();
    assert_eq!(
        c,
        vec![
            r#"LABEL org.opencontainers.image.title="demo app" version=1"#,
            "LABEL maintainer someone here",
            "MAINTAINER me <me@example.com>",
            r#"ENV A=1 B="two words""#,
            "ENV OLD form   keeps  spaces",
            "WORKDIR /src",
            "USER 1000:1000",
            "EXPOSE 8080/tcp 9090",
            r#"VOLUME ["/data","/logs"]"#,
            "VOLUME /a /b",
            "STOPSIGNAL SIGTERM",
            "HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/ || exit 1",
            "HEALTHCHECK NONE",
            r#"SHELL ["/bin/bash","-o","pipefail","-c"]"#,
            "ONBUILD COPY . /app",
            "ONBUILD RUN make   all",
            r#"CMD ["./app","--serve"]"#,
            "ENTRYPOINT /bin/app --flag",
            r#"RUN --network=none --security=insecure ["echo","x"]"#,
            "ADD --chown=1:1 --chmod=755 --link --checksum=sha256:abc https://example.com/f.tgz /f.tgz",
            "ADD --keep-git-dir git@github.com:moby/buildkit.git /bk",
            "COPY --parents --exclude=*.md --exclude=docs/ ./src ./lib /out/",
        ]
    );
    match &df.stages[0].instructions[21].command {
        Command::Copy(c) => {
            assert!(c.parents);
            assert_eq!(c.excludes, vec!["*.md", "docs/"]);
            assert_eq!(c.sources, vec!["./src", "./lib"]);
            assert_eq!(c.dest, "/out/");
        }
        other => panic!("{other:?}"),
    }
    match &df.stages[0].instructions[19].command {
        Command::Add(a) => {
            assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
            assert!(a.link);
        }
        other => panic!("{other:?}"),
    }
    let p = plan(&df, None, &BTreeMap::new()).unwrap();
    // https with --checksum is fully described; git without it is not.
    assert_eq!(p.unhashable.len(), 1);
    assert!(p.unhashable[0]
        .reason
        .contains("git@github.com:moby/buildkit.git"));
    assert_eq!(p.unhashable[0].line, 23);
    assert_eq!(sources(&p), vec![vec!["./src", "./lib"]]);
    assert_eq!(p.context_sources[0].excludes, vec!["*.md", "docs/"]);
    assert!(p.context_sources[0].parents);
    assert_eq!(p.instructions[0].text, "# syntax=docker/dockerfile:1.7");
    assert_eq!(p.base_images, vec!["golang:1.22"]);
}

#[test]
fn node_app() {
    let text = "\
FROM node:20-alpine
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY src/ ./src/
ARG NODE_ENV=production
ENV NODE_ENV=$NODE_ENV
CMD [\"node\", \"src/index.js\"]
";
    let p = plan_of(text, None, &[("NODE_ENV", "staging"), ("UNUSED", "x")]);
    assert_eq!(
        sources(&p),
        vec![vec!["package.json", "package-lock.json"], vec!["src/"]]
    );
    assert_eq!(p.context_sources[0].kind, SourceKind::Copy);
    assert_eq!(p.context_sources[0].line, 3);
    assert_eq!(p.declared_args.iter().collect::<Vec<_>>(), vec!["NODE_ENV"]);
    assert_eq!(p.base_images, vec!["node:20-alpine"]);
    assert_eq!(p.target, "0");
    assert_eq!(p.instructions.len(), 8);
}

#[test]
fn python_app_with_secret_and_cache() {
    let text = "\
FROM python:3.12-slim AS base
ENV APP_HOME=/srv/app
WORKDIR $APP_HOME
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \\
    --mount=type=secret,id=pip_conf,target=/etc/pip.conf \\
    --mount=type=secret,target=/run/secrets/netrc \\
    pip install -r requirements.txt
COPY --chown=app:app app/ ${APP_HOME}/app/
";
    let p = plan_of(text, None, &[]);
    assert_eq!(sources(&p), vec![vec!["requirements.txt"], vec!["app/"]]);
    assert_eq!(
        p.secret_ids.iter().collect::<Vec<_>>(),
        vec!["netrc", "pip_conf"]
    );
    let run = &p.instructions[4];
    assert_eq!(run.line, 5);
    assert_eq!(
        run.text,
        "RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=pip_conf,target=/etc/pip.conf --mount=type=secret,target=/run/secrets/netrc pip install -r requirements.txt"
    );
}

const GO_MULTI: &str = "\
ARG GO_VERSION=1.22
ARG ALPINE=3.20
ARG UNUSED=1
FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY internal/ internal/
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app

FROM golang:${GO_VERSION} AS test
COPY --from=build /src /src
COPY testdata/ /testdata/
RUN go test ./...

FROM alpine:${ALPINE} AS runtime
COPY --from=build /out/app /usr/local/bin/app
COPY --from=busybox:1.36 /bin/busybox /bin/busybox
ENTRYPOINT [\"/usr/local/bin/app\"]
";

#[test]
fn go_multi_stage_default_target() {
    let p = plan_of(GO_MULTI, None, &[("GO_VERSION", "1.23")]);
    assert_eq!(p.target, "runtime");
    assert_eq!(
        sources(&p),
        vec![vec!["go.mod", "go.sum"], vec!["cmd/"], vec!["internal/"]]
    );
    assert_eq!(
        p.base_images,
        vec!["golang:1.23", "alpine:3.20", "busybox:1.36"]
    );
    let t = texts(&p);
    assert!(t.contains(&"ARG GO_VERSION=1.22".to_string()));
    assert!(t.contains(&"ARG ALPINE=3.20".to_string()));
    assert!(!t.iter().any(|l| l.contains("UNUSED")));
    assert!(!t.iter().any(|l| l.contains("go test")));
    assert!(!sources(&p)
        .iter()
        .any(|s| s.contains(&"testdata/".to_string())));
    assert_eq!(
        p.declared_args.iter().collect::<Vec<_>>(),
        vec!["ALPINE", "GO_VERSION"]
    );
}

#[test]
fn target_switch() {
    let p = plan_of(GO_MULTI, Some("test"), &[]);
    assert_eq!(p.target, "test");
    assert!(sources(&p).contains(&vec!["testdata/".to_string()]));
    assert!(!texts(&p).iter().any(|t| t.starts_with("ARG ALPINE")));
    assert_eq!(p.base_images, vec!["golang:1.22"]);
    let p = plan_of(GO_MULTI, Some("BUILD"), &[]);
    assert_eq!(p.target, "build");
    let df = parse(GO_MULTI).unwrap();
    let e = plan(&df, Some("prod"), &BTreeMap::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "target stage \"prod\" could not be found (stages: build, test, runtime)"
    );
}

#[test]
fn from_stage_inherits_env_and_is_not_an_image() {
    let text = "\
FROM alpine AS base
ENV SRC=app
FROM base AS final
COPY $SRC/ /app/
FROM scratch AS other
";
    let p = plan_of(text, Some("final"), &[]);
    assert_eq!(sources(&p), vec![vec!["app/"]]);
    assert_eq!(p.base_images, vec!["alpine"]);
    let p = plan_of(text, None, &[]);
    assert!(p.base_images.is_empty());
    assert_eq!(p.instructions.len(), 1);
}

#[test]
fn copy_from_index_and_cycles() {
    let text = "FROM a\nRUN make\nFROM b\nCOPY --from=0 /x /x\n";
    let p = plan_of(text, None, &[]);
    assert_eq!(p.base_images, vec!["a", "b"]);
    assert_eq!(p.instructions.len(), 4);
    let df = parse("FROM a\nFROM b\nCOPY --from=5 /x /x\n").unwrap();
    assert!(matches!(
        plan(&df, None, &BTreeMap::new()),
        Err(PlanError::StageIndexOutOfBounds { line: 3, .. })
    ));
    let df = parse("FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\nCOPY --from=one /y /y\n")
        .unwrap();
    assert!(matches!(
        plan(&df, None, &BTreeMap::new()),
        Err(PlanError::CircularDependency { .. })
    ));
    let df = parse("FROM a AS me\nCOPY --from=me /x /x\n").unwrap();
    assert!(plan(&df, None, &BTreeMap::new()).is_err());
}

#[test]
fn bind_mounts_and_mount_from() {
    let text = "\
FROM rust:1 AS deps
FROM alpine AS tools
FROM rust:1
RUN --mount=type=bind,target=/src cargo build
RUN --mount=type=bind,source=scripts,target=/s sh /s/run.sh
RUN --mount=type=bind,from=deps,source=/usr,target=/d true
RUN --mount=type=cache,from=node:20,target=/c true
";
    let p = plan_of(text, None, &[]);
    assert_eq!(sources(&p), vec![vec!["."], vec!["scripts"]]);
    assert!(p
        .context_sources
        .iter()
        .all(|c| c.kind == SourceKind::BindMount && c.instruction == "RUN --mount=type=bind"));
    assert_eq!(p.base_images, vec!["rust:1", "node:20"]);
    // `tools` is not reachable, `deps` is (through the mount).
    assert_eq!(
        p.instructions
            .iter()
            .filter(|i| i.text.starts_with("FROM"))
            .count(),
        2
    );
}

#[test]
fn add_sources_classified() {
    let text = "\
FROM alpine
ADD app.tar.gz /opt/
ADD https://example.com/a.txt /a.txt
ADD --checksum=sha256:0123 https://example.com/b.txt /b.txt
ADD https://github.com/moby/buildkit.git#v0.13 /bk
ADD git://example.com/r /r
COPY <<CONF /etc/conf
x=1
CONF
";
    let p = plan_of(text, None, &[]);
    assert_eq!(sources(&p), vec![vec!["app.tar.gz"]]);
    assert_eq!(p.context_sources[0].kind, SourceKind::Add);
    let lines: Vec<usize> = p.unhashable.iter().map(|u| u.line).collect();
    assert_eq!(lines, vec![3, 5, 6]);
    assert!(p.unhashable.iter().all(|u| u.instruction == "ADD"));
    let last = p.instructions.last().unwrap();
    assert_eq!(last.text, "COPY <<CONF /etc/conf\nx=1\nCONF");
    let df = parse("FROM a\nCOPY https://x/y /y\n").unwrap();
    assert_eq!(
        plan(&df, None, &BTreeMap::new()).unwrap_err(),
        PlanError::CopyFromUrl { line: 2 }
    );
}

#[test]
fn heredocs() {
    let text = "\
FROM alpine
RUN <<BODY bash -ex
  echo one
BODY
RUN <<-\"A\" 3<<B cat /dev/fd/3
\techo $X
\tA
b body
B
COPY <<one <<two /dst/
1
one
2
two
RUN echo done
";
    let df = parse(text).unwrap();
    let ins = &df.stages[0].instructions;
    assert_eq!(ins.len(), 4);
    assert_eq!(ins[0].canonical, "RUN <<BODY bash -ex\n  echo one\nBODY");
    assert_eq!(ins[1].heredocs.len(), 2);
    assert!(!ins[1].heredocs[0].expand && ins[1].heredocs[0].chomp);
    assert_eq!(ins[1].heredocs[0].effective_content(), "echo $X\n");
    assert_eq!(ins[1].heredocs[1].content, "b body\n");
    match &ins[2].command {
        Command::Copy(c) => {
            assert!(c.sources.is_empty());
            assert_eq!(c.heredoc_sources, vec!["one", "two"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ins[3].line, 15);
    let p = plan(&df, None, &BTreeMap::new()).unwrap();
    assert!(p.context_sources.is_empty());
    // JSON form never carries heredocs: the next line is an instruction.
    let e = parse("FROM a\nRUN [\"cat\", \"<<END\"]\nEND\n").unwrap_err();
    assert_eq!(e.to_string(), "line 3: unknown instruction: END");
}

#[test]
fn escape_backtick() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY C:\\src\\ C:\\app\\\nRUN dir `\n   C:\\app\n";
    let df = parse(text).unwrap();
    assert_eq!(df.directives.escape, '`');
    let ins = &df.stages[0].instructions;
    assert_eq!(ins[0].canonical, "COPY C:\\src\\ C:\\app\\");
    assert_eq!(ins[1].canonical, "RUN dir    C:\\app");
    let p = plan(&df, None, &BTreeMap::new()).unwrap();
    assert_eq!(sources(&p), vec![vec!["C:\\src\\"]]);
    assert_eq!(p.instructions[0].text, "# escape=`");
}

#[test]
fn substitution_forms_in_sources() {
    let text = "\
FROM alpine
ARG A
ARG B=bdef
ARG E=
ENV P=/usr/local/bin
COPY ${A:-adef} ${B} $A ${E:-edef} ${E-eset} ${B:+plus} ${A+aplus} \\$B ${P##*/} /dst/
";
    let p = plan_of(text, None, &[]);
    assert_eq!(
        sources(&p),
        vec![vec![
            "adef", "bdef", "", "edef", "", "plus", "", "$B", "bin"
        ]]
    );
    let p = plan_of(text, None, &[("A", "aval"), ("B", "bval")]);
    assert_eq!(
        sources(&p),
        vec![vec![
            "aval", "bval", "aval", "edef", "", "plus", "aplus", "$B", "bin"
        ]]
    );
}

#[test]
fn build_args_only_override_declared_args() {
    let text = "FROM alpine\nENV DIR=fromenv\nCOPY $DIR/ /x/\nCOPY $NOTDECLARED/ /y/\n";
    let p = plan_of(text, None, &[("DIR", "arg"), ("NOTDECLARED", "z")]);
    assert_eq!(sources(&p), vec![vec!["fromenv/"], vec!["/"]]);
    assert!(p.declared_args.is_empty());
    // ENV wins over ARG of the same name.
    let text = "FROM alpine\nARG DIR=argdef\nENV DIR=envval\nCOPY $DIR /x/\n";
    let p = plan_of(text, None, &[("DIR", "buildarg")]);
    assert_eq!(sources(&p), vec![vec!["envval"]]);
}

#[test]
fn global_args_scope() {
    let text = "\
ARG BASE=alpine
ARG TAG=3.20
ARG REF=${BASE}:${TAG}
ARG DIR=global
FROM ${REF}
COPY $DIR /a
ARG DIR
COPY $DIR /b
";
    let p = plan_of(text, None, &[("TAG", "edge")]);
    assert_eq!(p.base_images, vec!["alpine:edge"]);
    // A global ARG is invisible in a stage until redeclared there.
    assert_eq!(sources(&p), vec![vec![""], vec!["global"]]);
    assert_eq!(
        p.declared_args.iter().collect::<Vec<_>>(),
        vec!["BASE", "DIR", "REF", "TAG"]
    );
    assert_eq!(
        p.instructions
            .iter()
            .filter(|i| i.text.starts_with("ARG"))
            .count(),
        5
    );
    // FROM sees build args only for declared global ARGs; platform args are automatic.
    let p = plan_of(
        "FROM --platform=$BUILDPLATFORM img:$TARGETARCH-$X\n",
        None,
        &[("TARGETARCH", "arm64"), ("X", "no")],
    );
    assert_eq!(p.base_images, vec!["img:arm64-"]);
    let pa = platform_args("linux/arm64/v8");
    assert_eq!(pa["TARGETARCH"], "arm64");
    assert_eq!(pa["TARGETVARIANT"], "v8");
}

#[test]
fn unreachable_stage_errors_are_ignored() {
    let text = "FROM a AS broken\nCOPY ${X /x\nFROM b\nCOPY ok /ok\n";
    let p = plan_of(text, None, &[]);
    assert_eq!(sources(&p), vec![vec!["ok"]]);
    let df = parse(text).unwrap();
    let e = plan(&df, Some("broken"), &BTreeMap::new()).unwrap_err();
    assert!(matches!(e, PlanError::Substitution { line: 2, .. }), "{e}");
}

fn canon(text: &str) -> Vec<String> {
    texts(&plan_of(text, None, &[]))
}

#[test]
fn canonical_ignores_layout() {
    let a = "\
# syntax=docker/dockerfile:1
FROM node:20 AS app
RUN apt-get update && apt-get install -y curl
COPY --chown=node:node package.json ./
ENV A=1 B=2
ARG X=1
EXPOSE 80 443
";
    let b = "#   SYNTAX  =  docker/dockerfile:1   \r
\r
# a comment\r
from   node:20   as   APP\r
  # indented comment\r
Run   apt-get update \\\r
      # comment inside continuation\r
\r
   &&   apt-get install -y \\\r
          curl   \r
copy --chown=\"node:node\"  package.json    ./\r
env A=1   B=2\r
arg   X=1\r
expose 80 \\\r
  443\r
";
    assert_eq!(canon(a), canon(b));
}

#[test]
fn canonical_sees_content() {
    let base = "FROM node:20\nRUN echo \"a  b\"\nCOPY a b /x/\n";
    let variants = [
        "FROM node:21\nRUN echo \"a  b\"\nCOPY a b /x/\n",
        "FROM node:20\nRUN echo \"a b\"\nCOPY a b /x/\n",
        "FROM node:20\nRUN echo \"a  b\"\nCOPY a /x/\n",
        "FROM node:20\nRUN echo \"a  b\"\nCOPY --link a b /x/\n",
        "FROM node:20\nRUN echo \"a  b\"\nCOPY b a /x/\n",
        "# syntax=docker/dockerfile:1.4\nFROM node:20\nRUN echo \"a  b\"\nCOPY a b /x/\n",
        "FROM node:20\nRUN echo 'a\\\n  b'\nCOPY a b /x/\n",
    ];
    for v in variants {
        assert_ne!(canon(base), canon(v), "{v}");
    }
    let h1 = "FROM a\nRUN <<BODY\necho  1\nBODY\n";
    let h2 = "FROM a\nRUN <<BODY\necho 1\nBODY\n";
    assert_ne!(canon(h1), canon(h2));
}

#[test]
fn non_posix_shell_keeps_whitespace() {
    let text = "FROM a\nSHELL [\"powershell\", \"-Command\"]\nRUN echo   x\nFROM a\nRUN echo   x\n";
    let df = parse(text).unwrap();
    assert_eq!(df.stages[0].instructions[1].canonical, "RUN echo   x");
    assert_eq!(df.stages[1].instructions[0].canonical, "RUN echo x");
    let df = parse("FROM a AS w\nSHELL [\"cmd\", \"/S\", \"/C\"]\nFROM w\nRUN echo   x\n").unwrap();
    assert_eq!(df.stages[1].instructions[0].canonical, "RUN echo   x");
}

#[test]
fn flags_with_quotes_and_json_copy() {
    let df = parse("FROM a\nCOPY [\"my file.txt\", \"/dst dir/\"]\nCOPY --from=\"build\" x y\n")
        .unwrap();
    let ins = &df.stages[0].instructions;
    assert_eq!(ins[0].canonical, r#"COPY ["my file.txt","/dst dir/"]"#);
    assert_eq!(ins[1].canonical, "COPY --from=build x y");
    let p = plan(&df, None, &BTreeMap::new()).unwrap();
    assert_eq!(sources(&p), vec![vec!["my file.txt"]]);
    assert_eq!(p.base_images, vec!["a", "build"]);
}

/// The platforms reachable RUN instructions execute on, with the first
/// RUN's line and stage.
fn run_platforms(
    text: &str,
    target: Option<&str>,
    pairs: &[(&str, &str)],
) -> Vec<(String, usize, String)> {
    let mut given = automatic_args("linux/arm64", "linux/amd64");
    given.extend(args(pairs));
    let df = parse(text).unwrap();
    plan(&df, target, &given)
        .unwrap()
        .run_platforms
        .into_iter()
        .map(|(p, r)| (p, r.line, r.stage))
        .collect()
}

#[test]
fn run_platforms_follow_from_platform_and_stage_parents() {
    // No --platform: the target platform.
    assert_eq!(
        run_platforms("FROM base\nCOPY a /a\nRUN uname -m\nRUN true\n", None, &[]),
        vec![("linux/arm64".into(), 3, "0".into())]
    );
    // COPY only: nothing runs.
    assert!(run_platforms("FROM base\nCOPY a /a\n", None, &[]).is_empty());
    // $BUILDPLATFORM runs natively, and so does a stage derived from it;
    // the final stage's RUN runs on the target.
    let text = "FROM --platform=$BUILDPLATFORM base AS build\nRUN make\nFROM build AS more\nRUN more\nFROM base\nCOPY --from=more /out /out\nRUN check\n";
    assert_eq!(
        run_platforms(text, None, &[]),
        vec![
            ("linux/amd64".into(), 2, "build".into()),
            ("linux/arm64".into(), 7, "2".into())
        ]
    );
    // Only the native stage reached: no foreign RUN.
    assert_eq!(
        run_platforms(text, Some("more"), &[]),
        vec![("linux/amd64".into(), 2, "build".into())]
    );
    // An explicit platform, through a global ARG.
    assert_eq!(
        run_platforms(
            "ARG P=linux/s390x\nFROM --platform=${P} base\nRUN x\n",
            None,
            &[]
        ),
        vec![("linux/s390x".into(), 3, "0".into())]
    );
    // Unreachable stages do not count.
    assert_eq!(
        run_platforms(
            "FROM base AS unused\nRUN x\nFROM base\nCOPY a /a\n",
            None,
            &[]
        ),
        vec![]
    );
}
