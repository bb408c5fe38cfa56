//! Shared set-up of the Service end-to-end tests: moto behind the ECS
//! fault-injection proxy, a real registry holding a tiny `app:latest`, and
//! a stack whose provider processes are configured for both.
#![allow(dead_code)]

use imagedeploy_tests::promise::ecs::EcsEnv;
use imagedeploy_tests::promise::images::push_tiny_image;
use imagedeploy_tests::{Deployment, Program, Report, Resource, ResourceState};
use imagedeploy_testsupport::Registry;
use serde_json::{json, Value as Json};

pub const SERVICE: &str = "imagedeploy:index:Service";
/// The Service resource's name in every test program.
pub const NAME: &str = "svc";

pub struct World {
    pub env: EcsEnv,
    pub registry: Registry,
    pub stack: Deployment,
    /// `127.0.0.1:PORT/app:latest`
    pub app_tag: String,
    /// The digest `app:latest` named when the world was made.
    pub first_digest: String,
}

impl World {
    pub async fn start() -> World {
        let env = EcsEnv::start().await.unwrap_or_else(|e| panic!("{e:#}"));
        let registry = Registry::start()
            .unwrap_or_else(|e| panic!("the registry is required for these tests: {e}"));
        let first_digest = push_tiny_image(&registry.address(), "app", "latest", "version one")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let stack = env
            .deployment()
            .expect("provider binary must be built (cargo build -p imagedeploy)");
        World {
            app_tag: format!("{}/app:latest", registry.address()),
            env,
            registry,
            stack,
            first_digest,
        }
    }

    /// The default inputs with `app:latest`.
    pub fn inputs(&self) -> Json {
        self.env.service_inputs(&json!(self.app_tag))
    }

    /// A program with one Service named [`NAME`].
    pub fn program(&self, inputs: Json) -> Program {
        Program::new()
            .config(self.env.provider_config())
            .resource(Resource::new(SERVICE, NAME, inputs))
    }

    pub fn state(&self) -> ResourceState {
        self.stack
            .state()
            .expect("stack file")
            .by_name(NAME)
            .cloned()
            .expect("the service is in the stack")
    }

    pub fn family(&self) -> String {
        self.state().outputs["family"]
            .as_str()
            .expect("family output")
            .to_string()
    }

    /// Every revision of the service's family ever registered.
    pub async fn registered(&self) -> usize {
        self.env
            .registered_revisions(&self.family())
            .await
            .expect("ListTaskDefinitions")
    }

    pub async fn up_ok(&self, inputs: Json) -> Report {
        let r = self.stack.up(&self.program(inputs)).await.expect("up runs");
        r.assert_ok();
        r
    }

    pub async fn preview_ok(&self, inputs: Json) -> Report {
        let r = self
            .stack
            .preview(&self.program(inputs))
            .await
            .expect("preview runs");
        r.assert_ok();
        r
    }
}

/// The INFO/WARNING messages the provider logged for the service.
pub fn messages(r: &Report) -> Vec<String> {
    r.logs
        .iter()
        .filter(|l| l.urn.ends_with(&format!("::{NAME}")))
        .map(|l| l.message.clone())
        .collect()
}

/// The Diff answer for the service (`changes`: 1 none, 2 some).
pub fn diff_changes(r: &Report) -> Json {
    r.calls_for("Diff", NAME)
        .last()
        .and_then(|c| c.response.as_ref().ok())
        .map(|resp| resp["changes"].clone())
        .unwrap_or(Json::Null)
}
