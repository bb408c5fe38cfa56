//! Rule 2 with the Docker engine (BuildKit): its digests are not
//! reproducible (Debian's Docker 20.10), so it is the content digest that
//! keeps `digest` and `ref` unchanged when only the fingerprint moved.
//! Skipped, with the reason printed, where dockerd cannot start.

mod image_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use image_support::*;
use imagedeploy_tests::{fixture, output, Op, Program};
use serde_json::json;

/// dockerd in temporary directories, never touching the host network
/// (no bridge, no iptables, no masquerading). Stopped on drop.
struct DockerEngine {
    child: Child,
    host: String,
    dir: tempfile::TempDir,
}

impl DockerEngine {
    fn start(insecure_registry: &str) -> Result<Self, String> {
        if Command::new("dockerd").arg("--version").output().is_err() {
            return Err("dockerd is not installed (apt-get install docker.io)".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("dkr")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let socket = dir.path().join("docker.sock");
        let log =
            std::fs::File::create(dir.path().join("dockerd.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .args(["--insecure-registry", insecure_registry])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot spawn dockerd: {e}"))?;
        let mut engine = DockerEngine {
            child,
            host: format!("unix://{}", socket.display()),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = engine.child.try_wait() {
                return Err(format!(
                    "dockerd exited early ({status}): {}",
                    engine.log_tail()
                ));
            }
            let answered = Command::new("docker")
                .args(["version", "--format", "{{.Server.Version}}"])
                .env("DOCKER_HOST", &engine.host)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if answered {
                return Ok(engine);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "dockerd did not answer within 30s: {}",
            engine.log_tail()
        ))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

impl Drop for DockerEngine {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd; SIGKILL if it hangs.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals only the dockerd process this test spawned.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn docker_builds_same_content_keeps_digest() {
    let w = World::start();
    let engine = match DockerEngine::start(&w.registry.address()) {
        Ok(engine) => engine,
        Err(reason) => {
            println!("SKIPPED docker_builds_same_content_keeps_digest: the Docker engine cannot run here: {reason}");
            eprintln!("SKIPPED docker_builds_same_content_keeps_digest: the Docker engine cannot run here: {reason}");
            return;
        }
    };
    let dockerfile = format!(
        "{}\nARG NOTE\nCOPY src/ /app/\nCMD [\"/bin/cat\", \"/app/app.ts\"]\n",
        w.base_from()
    );
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = |note: &str| {
        Program::new()
            .resource(w.image(
                "app",
                &ctx,
                json!({ "builder": { "kind": "docker", "host": engine.host }, "buildArgs": { "NOTE": note } }),
            ))
            .resource(fixture("uses", json!({ "value": output("app", "ref") })))
    };
    let up = w.stack.up(&p("a")).await.unwrap();
    up.assert_ok();
    assert!(
        progress_for(&up, "app").iter().any(|l| l.starts_with('#')),
        "built by BuildKit: {:?}",
        progress_for(&up, "app")
    );
    let old = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        registry_digest(&w.tag("app")),
        old.outputs["digest"].as_str().map(String::from)
    );
    let files = w.registry_files();

    let preview = w.stack.preview(&p("b")).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update), "the fingerprint moved");
    assert_eq!(
        preview.step("app").unwrap().outputs["digest"],
        old.outputs["digest"]
    );
    assert_eq!(preview.op("uses"), Some(Op::Same));
    let up = w.stack.up(&p("b")).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("uses"), Some(Op::Same));
    let new = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(new.outputs["digest"], old.outputs["digest"]);
    assert_eq!(new.outputs["ref"], old.outputs["ref"]);
    assert_ne!(new.outputs["contextHash"], old.outputs["contextHash"]);
    assert_eq!(w.registry_files(), files, "nothing pushed");

    // A real content change still gets through.
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let up = w.stack.up(&p("b")).await.unwrap();
    up.assert_ok();
    let changed = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_ne!(changed.outputs["digest"], old.outputs["digest"]);
    assert_eq!(
        registry_digest(&w.tag("app")),
        changed.outputs["digest"].as_str().map(String::from)
    );
    drop(engine);
}
