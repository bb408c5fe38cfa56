//! Table of realistic Dockerfiles through the public parser/planner API:
//! what each plan reads, and whether an edit changes the hashed instructions.

use std::collections::BTreeMap;

use imagedeploy_fingerprint::dockerfile::{parse, plan, BuildPlan, SourceKind};

fn plan_with(text: &str, target: Option<&str>, args: &[(&str, &str)]) -> BuildPlan {
    let df = parse(text).unwrap_or_else(|e| panic!("parse: {e}\n{text}"));
    let args: BTreeMap<String, String> = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    plan(&df, target, &args).unwrap_or_else(|e| panic!("plan: {e}\n{text}"))
}

fn sources(p: &BuildPlan) -> Vec<String> {
    p.context_sources
        .iter()
        .flat_map(|c| c.sources.iter().cloned())
        .collect()
}

/// The inputs a fingerprint would hash from the plan (files aside).
fn hashed(p: &BuildPlan, args: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for i in &p.instructions {
        s.push_str(&i.text);
        s.push('\n');
    }
    for (k, v) in args {
        if p.declared_args.contains(*k) {
            s.push_str(&format!("arg {k}={v}\n"));
        }
    }
    s.push_str(&format!("target {}\n", p.target));
    s
}

const NODE: &str = r#"# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci

FROM deps AS build
COPY tsconfig.json ./
COPY src/ src/
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ARG NODE_ENV=production
ENV NODE_ENV=${NODE_ENV}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --chmod=755 docker/entrypoint.sh /entrypoint.sh
USER node
ENTRYPOINT ["/entrypoint.sh"]
CMD ["node", "dist/index.js"]
"#;

const PYTHON: &str = r#"FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /srv
COPY requirements*.txt ./
RUN --mount=type=secret,id=pypi_token \
    pip install -r requirements.txt
COPY --exclude=**/__pycache__ --exclude=*.pyc app/ ./app/
COPY <<EOF /srv/gunicorn.conf.py
bind = "0.0.0.0:8000"
workers = 2
EOF
CMD gunicorn -c /srv/gunicorn.conf.py app.main:app
"#;

const GO: &str = r#"ARG GO_VERSION=1.22
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
RUN --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    --mount=type=cache,target=/go/pkg/mod \
    go mod download
RUN --mount=type=bind,target=. \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/server ./cmd/server

FROM build AS lint
COPY .golangci.yml .
RUN golangci-lint run

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/server /server
ENTRYPOINT ["/server"]
"#;

#[test]
fn node_plan() {
    let p = plan_with(NODE, None, &[]);
    assert_eq!(p.target, "runtime");
    assert_eq!(
        sources(&p),
        vec![
            "package.json",
            "package-lock.json",
            "tsconfig.json",
            "src/",
            "docker/entrypoint.sh"
        ]
    );
    assert_eq!(p.base_images, vec!["node:20-bookworm-slim"]);
    assert_eq!(p.declared_args.iter().collect::<Vec<_>>(), vec!["NODE_ENV"]);
    assert!(p.unhashable.is_empty());
    // Target `deps` needs neither the build sources nor the runtime args.
    let p = plan_with(NODE, Some("deps"), &[]);
    assert_eq!(sources(&p), vec!["package.json", "package-lock.json"]);
    assert!(p.declared_args.is_empty());
}

#[test]
fn python_plan() {
    let p = plan_with(PYTHON, None, &[]);
    assert_eq!(sources(&p), vec!["requirements*.txt", "app/"]);
    assert_eq!(
        p.context_sources[1].excludes,
        vec!["**/__pycache__", "*.pyc"]
    );
    assert_eq!(p.secret_ids.iter().collect::<Vec<_>>(), vec!["pypi_token"]);
    let heredoc = p
        .instructions
        .iter()
        .find(|i| i.text.starts_with("COPY <<EOF"))
        .unwrap();
    assert_eq!(heredoc.line, 9);
    assert!(heredoc.text.contains("workers = 2\n"));
}

#[test]
fn go_plan_bind_mounts() {
    let p = plan_with(GO, None, &[("TARGETARCH", "arm64")]);
    assert_eq!(sources(&p), vec!["go.mod", "go.sum", "."]);
    assert!(p
        .context_sources
        .iter()
        .all(|c| c.kind == SourceKind::BindMount));
    assert_eq!(
        p.base_images,
        vec!["golang:1.22-alpine", "gcr.io/distroless/static:nonroot"]
    );
    assert!(!p.instructions.iter().any(|i| i.text.contains("golangci")));
    assert!(p.declared_args.contains("TARGETARCH"));
    assert!(p.declared_args.contains("GO_VERSION"));
    let lint = plan_with(GO, Some("lint"), &[]);
    assert!(sources(&lint).contains(&".golangci.yml".to_string()));
}

#[test]
fn monorepo_dockerfiles_read_only_their_service() {
    let api = "FROM rust:1.79 AS build\nWORKDIR /w\nCOPY Cargo.toml Cargo.lock ./\nCOPY crates/api crates/api\nCOPY crates/common crates/common\nRUN cargo build --release -p api\nFROM debian:bookworm-slim\nCOPY --from=build /w/target/release/api /usr/local/bin/api\n";
    let web = "FROM node:20 AS build\nWORKDIR /w\nCOPY web/package.json web/package-lock.json ./\nRUN npm ci\nCOPY web/ ./\nRUN npm run build\nFROM nginx:1.27\nCOPY --from=build /w/dist /usr/share/nginx/html\nCOPY web/nginx.conf /etc/nginx/conf.d/default.conf\n";
    let a = plan_with(api, None, &[]);
    let w = plan_with(web, None, &[]);
    assert!(sources(&a).iter().all(|s| !s.starts_with("web")));
    assert!(sources(&w).iter().all(|s| s.starts_with("web/")));
    assert_eq!(a.base_images, vec!["rust:1.79", "debian:bookworm-slim"]);
    assert_eq!(w.base_images, vec!["node:20", "nginx:1.27"]);
}

/// (description, before, after, build args, changes?)
#[test]
fn edit_scenarios() {
    type Case = (
        &'static str,
        String,
        String,
        Vec<(&'static str, &'static str)>,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "comment added",
            NODE.into(),
            NODE.replace(
                "WORKDIR /app\nCOPY package",
                "# install deps\nWORKDIR /app\nCOPY package",
            ),
            vec![],
            false,
        ),
        (
            "whitespace and continuation layout",
            PYTHON.into(),
            PYTHON.replace(
                "ENV PYTHONDONTWRITEBYTECODE=1 \\\n    PIP_NO_CACHE_DIR=1",
                "ENV   PYTHONDONTWRITEBYTECODE=1    PIP_NO_CACHE_DIR=1",
            ),
            vec![],
            false,
        ),
        (
            "CRLF line endings outside heredocs",
            NODE.into(),
            NODE.replace('\n', "\r\n"),
            vec![],
            false,
        ),
        (
            "keyword case",
            GO.into(),
            GO.replace("WORKDIR /src", "workdir /src"),
            vec![],
            false,
        ),
        (
            "heredoc body edit",
            PYTHON.into(),
            PYTHON.replace("workers = 2", "workers = 4"),
            vec![],
            true,
        ),
        (
            "RUN command edit",
            NODE.into(),
            NODE.replace("npm run build", "npm run build:prod"),
            vec![],
            true,
        ),
        (
            "edit in an unreachable stage",
            GO.into(),
            GO.replace("golangci-lint run", "golangci-lint run --fix"),
            vec![],
            false,
        ),
        (
            "flag added",
            NODE.into(),
            NODE.replace("COPY src/ src/", "COPY --link src/ src/"),
            vec![],
            true,
        ),
        (
            "declared build arg value",
            NODE.into(),
            NODE.into(),
            vec![("NODE_ENV", "staging")],
            true,
        ),
        (
            "undeclared build arg value",
            NODE.into(),
            NODE.into(),
            vec![("SOMETHING_ELSE", "1")],
            false,
        ),
        (
            "syntax directive whitespace",
            NODE.into(),
            NODE.replace(
                "# syntax=docker/dockerfile:1",
                "#SYNTAX = docker/dockerfile:1 ",
            ),
            vec![],
            false,
        ),
        (
            "syntax directive value",
            NODE.into(),
            NODE.replace(
                "# syntax=docker/dockerfile:1",
                "# syntax=docker/dockerfile:1.7",
            ),
            vec![],
            true,
        ),
    ];
    for (name, before, after, args, changes) in cases {
        let a = hashed(&plan_with(&before, None, &[]), &[]);
        let b = hashed(&plan_with(&after, None, &args), &args);
        assert_eq!(a != b, changes, "{name}:\n{a}\n---\n{b}");
    }
}

#[test]
fn errors_read_like_docker() {
    let e = parse("FROM alpine\nRUN true\nCOPPY a b\n").unwrap_err();
    assert_eq!(e.to_string(), "line 3: unknown instruction: COPPY");
    let df = parse(NODE).unwrap();
    let e = plan(&df, Some("prod"), &BTreeMap::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "target stage \"prod\" could not be found (stages: deps, build, runtime)"
    );
}
