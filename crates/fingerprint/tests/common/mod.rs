//! Realistic build contexts for the scenario tests, built in temp dirs.
#![allow(dead_code)]

use imagedeploy_fingerprint::{fingerprint, CacheMode, DockerfileSource, Fingerprint, Request};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A context directory on disk.
pub struct Context {
    dir: tempfile::TempDir,
}

impl Context {
    pub fn new(files: &[(&str, &str)]) -> Context {
        let ctx = Context {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        for (path, content) in files {
            ctx.write(path, content);
        }
        ctx
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }

    pub fn append(&self, rel: &str, content: &str) {
        let old = std::fs::read_to_string(self.path(rel)).expect("read");
        std::fs::write(self.path(rel), old + content).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    pub fn replace(&self, rel: &str, from: &str, to: &str) {
        let old = self.read(rel);
        assert!(old.contains(from), "{rel} does not contain {from:?}");
        std::fs::write(self.path(rel), old.replacen(from, to, 1)).expect("write");
    }

    pub fn chmod(&self, rel: &str, mode: u32) {
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path(rel)).expect("remove");
    }

    pub fn symlink(&self, target: &str, rel: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(target, path).expect("symlink");
    }

    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).expect("mkdir");
    }

    /// Sets a file's mtime (like `touch`), keeping its contents.
    pub fn touch(&self, rel: &str, seconds_ahead: u64) {
        let file = std::fs::File::options()
            .write(true)
            .open(self.path(rel))
            .expect("open");
        let t = std::time::SystemTime::now() + std::time::Duration::from_secs(seconds_ahead);
        file.set_modified(t).expect("set mtime");
    }

    /// A request with no stat cache.
    pub fn request(&self) -> Request {
        let mut req = Request::new(self.root());
        req.cache = CacheMode::Disabled;
        req
    }

    pub fn request_for(&self, dockerfile: &str) -> Request {
        let mut req = self.request();
        req.dockerfile = DockerfileSource::Path(self.path(dockerfile));
        req
    }

    pub fn fp(&self) -> Fingerprint {
        fingerprint(&self.request()).expect("fingerprint")
    }
}

/// Many generated files so that contexts look like real projects.
pub fn filler(prefix: &str, count: usize, ext: &str) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            (
                format!("{prefix}/file{i:03}.{ext}"),
                format!("// {prefix} module {i}\nexport const v{i} = {i};\n"),
            )
        })
        .collect()
}

fn build(base: &[(&str, &str)], extra: Vec<(String, String)>) -> Context {
    let ctx = Context::new(base);
    for (path, content) in extra {
        ctx.write(&path, &content);
    }
    ctx
}

pub const NODE_DOCKERFILE: &str = "\
# syntax=docker/dockerfile:1
FROM node:20-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json* ./
RUN npm ci

FROM node:20-alpine AS build
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY tsconfig.json ./
COPY src/ ./src/
COPY scripts/run.sh ./scripts/
RUN npm run build

FROM node:20-alpine
ARG NODE_ENV=production
ENV NODE_ENV=$NODE_ENV
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY --from=deps /app/node_modules ./node_modules
CMD [\"node\", \"dist/app.js\"]
";

/// A TypeScript service with an ignored node_modules.
pub fn node_app() -> Context {
    let mut extra = filler("src/lib", 40, "ts");
    extra.extend(filler("node_modules/left-pad", 30, "js"));
    extra.extend(filler("node_modules/@types/node", 30, "d.ts"));
    extra.extend(filler("test", 10, "ts"));
    build(
        &[
            ("Dockerfile", NODE_DOCKERFILE),
            (
                ".dockerignore",
                "# dependencies are installed in the image\nnode_modules\n**/*.md\n!docs/keep.md\n.git\ncoverage/\n",
            ),
            ("package.json", "{\"name\":\"svc\",\"version\":\"1.0.0\"}\n"),
            ("package-lock.json", "{\"lockfileVersion\":3}\n"),
            ("tsconfig.json", "{\"compilerOptions\":{\"outDir\":\"dist\"}}\n"),
            ("src/app.ts", "console.log('hello');\n"),
            ("scripts/run.sh", "#!/bin/sh\nexec node dist/app.js\n"),
            ("README.md", "# svc\n"),
            ("docs/keep.md", "kept\n"),
            ("docs/other.md", "ignored\n"),
            ("coverage/lcov.info", "TN:\n"),
        ],
        extra,
    )
}

pub const PYTHON_DOCKERFILE: &str = "\
FROM python:3.12-slim
ARG PIP_INDEX_URL
ARG APP_ENV=dev
WORKDIR /srv
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
COPY app/ ./app/
COPY <<EOF /srv/gunicorn.conf.py
bind = \"0.0.0.0:8000\"
workers = 2
EOF
RUN <<EOF
set -e
python -m compileall app
EOF
CMD [\"gunicorn\", \"app.main:app\"]
";

/// A Python web app with an ignored virtualenv.
pub fn python_app() -> Context {
    let mut extra = filler("app/routes", 20, "py");
    extra.extend(filler(".venv/lib/site-packages/flask", 40, "py"));
    extra.extend(filler("tests", 10, "py"));
    build(
        &[
            ("Dockerfile", PYTHON_DOCKERFILE),
            (".dockerignore", ".venv/\n__pycache__\n**/*.pyc\ntests/\n"),
            ("requirements.txt", "flask==3.0.0\ngunicorn==21.2.0\n"),
            ("app/__init__.py", ""),
            (
                "app/main.py",
                "from flask import Flask\napp = Flask(__name__)\n",
            ),
            ("app/__pycache__/main.cpython-312.pyc", "bytecode"),
            ("README.md", "# app\n"),
        ],
        extra,
    )
}

pub const GO_DOCKERFILE: &str = "\
ARG GO_VERSION=1.22
FROM golang:${GO_VERSION} AS builder
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ ./cmd/
COPY internal/ ./internal/
RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server

FROM golang:${GO_VERSION} AS lint
COPY .golangci.yml ./
RUN golangci-lint run

FROM builder AS test
COPY testdata/ ./testdata/
RUN go test ./...

FROM gcr.io/distroless/static:nonroot AS prod
COPY --from=builder /out/server /server
ENTRYPOINT [\"/server\"]
";

/// A Go service with builder, lint, test and prod stages.
pub fn go_app() -> Context {
    let mut extra = filler("internal/store", 20, "go");
    extra.extend(filler("testdata", 5, "json"));
    build(
        &[
            ("Dockerfile", GO_DOCKERFILE),
            ("go.mod", "module example.com/svc\n\ngo 1.22\n"),
            ("go.sum", ""),
            ("cmd/server/main.go", "package main\n\nfunc main() {}\n"),
            (".golangci.yml", "linters:\n  enable: [govet]\n"),
            ("README.md", "# svc\n"),
        ],
        extra,
    )
}

pub const API_DOCKERFILE: &str = "\
FROM node:20 AS build
WORKDIR /repo
COPY package.json ./
COPY packages/shared/ ./packages/shared/
COPY services/api/ ./services/api/
RUN npm run build -w services/api

FROM node:20-slim
COPY --from=build /repo/services/api/dist /app
CMD [\"node\", \"/app/index.js\"]
";

pub const WEB_DOCKERFILE: &str = "\
FROM node:20 AS build
WORKDIR /repo
COPY package.json ./
COPY packages/shared/ ./packages/shared/
COPY services/web/ ./services/web/
RUN npm run build -w services/web

FROM nginx:1.27
COPY --from=build /repo/services/web/dist /usr/share/nginx/html
";

/// A monorepo whose services build from the repository root.
pub fn monorepo() -> Context {
    let mut extra = filler("packages/shared/src", 15, "ts");
    extra.extend(filler("services/api/src", 15, "ts"));
    extra.extend(filler("services/web/src", 15, "tsx"));
    extra.extend(filler("node_modules/react", 20, "js"));
    build(
        &[
            ("services/api/Dockerfile", API_DOCKERFILE),
            (
                "services/api/Dockerfile.dockerignore",
                "**/node_modules\n**/*.test.ts\n",
            ),
            ("services/web/Dockerfile", WEB_DOCKERFILE),
            (".dockerignore", "node_modules\n"),
            (
                "package.json",
                "{\"workspaces\":[\"packages/*\",\"services/*\"]}\n",
            ),
            ("services/api/src/index.test.ts", "test('x', () => {});\n"),
            ("README.md", "# monorepo\n"),
        ],
        extra,
    )
}
