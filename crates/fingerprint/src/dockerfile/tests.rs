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
    p.context_sources.iter().map(|c| c.sources.clone()).collect()
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
    assert!(parse("FROM a b\n").unwrap_err().to_string().contains("one or three"));
    assert!(parse("FROM a AS 1x\n").unwrap_err().to_string().contains("invalid name"));
    assert!(parse("FROM a\nCOPY onlyone\n").unwrap_err().to_string().contains("at least two"));
    assert!(parse("FROM a\nSHELL /bin/sh -c\n").unwrap_err().to_string().contains("JSON form"));
    assert!(parse("FROM a\nCOPY --frm=x a b\n").unwrap_err().to_string().contains("unknown flag: frm"));
    assert!(parse("FROM a\nRUN [\"a\", 1]\n").unwrap_err().to_string().contains("strings only"));
    assert!(parse("FROM a\nENV\n").is_err());
    assert!(parse("FROM a\nENV a=1 b\n").is_err());
    assert!(parse("FROM a\nHEALTHCHECK FOO x\n").is_err());
    assert!(parse("FROM a\nONBUILD ONBUILD RUN x\n").is_err());
    assert!(parse("FROM a\nRUN <<EOF\nbody\n").unwrap_err().to_string().contains("unterminated heredoc"));
    assert!(parse("FROM a\nCOPY <<EOF <<X\nEOF\nX\n").unwrap_err().to_string().contains("destination"));
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
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1.7"));
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
    assert!(p.unhashable[0].reason.contains("git@github.com:moby/buildkit.git"));
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
    assert_eq!(sources(&p), vec![vec!["package.json", "package-lock.json"], vec!["src/"]]);
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
    assert_eq!(p.base_images, vec!["golang:1.23", "alpine:3.20", "busybox:1.36"]);
    let t = texts(&p);
    assert!(t.contains(&"ARG GO_VERSION=1.22".to_string()));
    assert!(t.contains(&"ARG ALPINE=3.20".to_string()));
    assert!(!t.iter().any(|l| l.contains("UNUSED")));
    assert!(!t.iter().any(|l| l.contains("go test")));
    assert!(!sources(&p).iter().any(|s| s.contains(&"testdata/".to_string())));
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
    let df = parse("FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\nCOPY --from=one /y /y\n").unwrap();
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
    assert_eq!(p.instructions.iter().filter(|i| i.text.starts_with("FROM")).count(), 2);
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
COPY <<EOF /etc/conf
x=1
