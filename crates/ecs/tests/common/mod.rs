//! Shared set-up for the tests: a real moto server, the fault-injection
//! proxy in front of it, moto EC2 networking for awsvpc, and a test double
//! of our own `ImageResolver` trait.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ecs::config::retry::RetryPartition;
use aws_sdk_ecs::config::{Credentials, Region};
use imagedeploy_ecs::args::{
    ContainerArgs, NetworkConfiguration, PortMapping, ServiceArgs, WaitOptions,
};
use imagedeploy_ecs::{
    normalise, Deployer, ImageResolver, Reference, ResolveError, ResolvedManifest, ServiceState,
};
use imagedeploy_testsupport::ecs_faults::{create_network, FaultProxy, MotoNetwork};
use imagedeploy_testsupport::log_capture::Lines;
use imagedeploy_testsupport::Moto;

pub const REGION: &str = "us-east-1";
pub const CLUSTER: &str = "test-cluster";

pub fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// TEST DOUBLE of our own `ImageResolver` trait (the provider implements it
/// over ECR DescribeImages and the OCI registry API): tags and digests held
/// in a map that the test can move.
#[derive(Default, Clone)]
pub struct MapResolver {
    /// `repository:tag` -> digest; every digest ever named also "exists".
    tags: Arc<Mutex<BTreeMap<String, String>>>,
    digests: Arc<Mutex<Vec<(String, String)>>>,
}

impl MapResolver {
    pub fn with(tag_ref: &str, digest: &str) -> Self {
        let r = Self::default();
        r.set(tag_ref, digest);
        r
    }

    /// Points `repository:tag` at `digest` (moving the tag).
    pub fn set(&self, tag_ref: &str, digest: &str) {
        let parsed = Reference::parse(tag_ref).expect("test tag reference");
        self.tags
            .lock()
            .unwrap()
            .insert(tag_ref.to_string(), digest.to_string());
        self.digests
            .lock()
            .unwrap()
            .push((parsed.written_name(), digest.to_string()));
    }
}

#[async_trait]
impl ImageResolver for MapResolver {
    async fn resolve(&self, reference: &Reference) -> Result<ResolvedManifest, ResolveError> {
        let image = |digest: &str| ResolvedManifest::Image {
            digest: imagedeploy_reference::Digest::parse(digest).expect("test digest"),
        };
        if let Some(d) = reference.digest() {
            let known =
                self.digests.lock().unwrap().iter().any(|(repo, digest)| {
                    *repo == reference.written_name() && digest == d.as_str()
                });
            return if known {
                Ok(image(d.as_str()))
            } else {
                Err(ResolveError::NotFound {
                    reference: reference.written(),
                })
            };
        }
        let key = format!(
            "{}:{}",
            reference.written_name(),
            reference.tag().unwrap_or("latest")
        );
        self.tags
            .lock()
            .unwrap()
            .get(&key)
            .map(|d| image(d))
            .ok_or(ResolveError::NotFound { reference: key })
    }
}

/// moto, the fault-injection proxy in front of it, a cluster and a network.
pub struct Env {
    pub moto: Moto,
    pub proxy: FaultProxy,
    pub network: MotoNetwork,
    /// Client through the proxy (what the code under test uses).
    pub client: aws_sdk_ecs::Client,
    /// Client straight to moto (for the test's own checks and for changes
    /// "made outside the program").
    pub direct: aws_sdk_ecs::Client,
}

/// An ECS client the way the provider builds one (endpoint override,
/// adaptive retry mode), with test-sized backoff: adaptive mode's client-side
/// rate limiter otherwise delays each retry after a throttle by up to
/// `max_backoff` (20 s by default) at low request rates. Each client gets its
/// own retry partition so parallel tests do not share a rate limiter.
pub async fn client(endpoint: &str) -> aws_sdk_ecs::Client {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(300)),
        )
        .load()
        .await;
    let partition = format!("ecs-test-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let ecs = aws_sdk_ecs::config::Builder::from(&conf)
        .retry_partition(RetryPartition::new(partition))
        .build();
    aws_sdk_ecs::Client::from_conf(ecs)
}

impl Env {
    pub async fn start() -> Env {
        let moto =
            Moto::start().unwrap_or_else(|e| panic!("moto is required for these tests: {e}"));
        let proxy = FaultProxy::start(&moto.endpoint())
            .await
            .expect("start the fault-injection proxy");
        let network = create_network(&moto.endpoint(), REGION)
            .await
            .expect("create moto EC2 network");
        let client = client(&proxy.endpoint()).await;
        let direct = client_direct(&moto).await;
        direct
            .create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .expect("create cluster");
        Env {
            moto,
            proxy,
            network,
            client,
            direct,
        }
    }

    pub fn deployer(&self) -> Deployer {
        Deployer::new(self.client.clone()).with_poll_interval(Duration::from_millis(100))
    }

    /// A Fargate service with one container `web` listening on 8080.
    pub fn args(&self, name: &str) -> ServiceArgs {
        ServiceArgs {
            cluster: CLUSTER.to_string(),
            name: Some(name.to_string()),
            cpu: Some(256),
            memory: Some(512),
            network_configuration: Some(NetworkConfiguration {
                subnets: vec![self.network.subnet_id.clone()],
                security_groups: Some(vec![self.network.security_group_id.clone()]),
                assign_public_ip: None,
            }),
            containers: vec![ContainerArgs {
                name: "web".into(),
                image: "127.0.0.1:5000/app:latest".into(),
                port_mappings: Some(vec![PortMapping {
                    container_port: Some(8080),
                    ..Default::default()
                }]),
                environment: Some(BTreeMap::from([
                    ("LOG_LEVEL".to_string(), "info".to_string()),
                    ("MODE".to_string(), "web".to_string()),
                ])),
                ..Default::default()
            }],
            wait: Some(WaitOptions {
                for_steady_state: Some(true),
                timeout_seconds: Some(10),
            }),
            ..Default::default()
        }
    }

    /// The service `name` as ECS describes it now (straight to moto).
    pub async fn describe_service(&self, name: &str) -> aws_sdk_ecs::types::Service {
        self.direct
            .describe_services()
            .cluster(CLUSTER)
            .services(name)
            .send()
            .await
            .expect("DescribeServices")
            .services()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("service {name} not described"))
    }

    /// ACTIVE task definition ARNs of `family`.
    pub async fn active_revisions(&self, family: &str) -> Vec<String> {
        self.direct
            .list_task_definitions()
            .family_prefix(family)
            .send()
            .await
            .expect("ListTaskDefinitions")
            .task_definition_arns()
            .to_vec()
    }

    pub async fn service_count(&self) -> usize {
        self.direct
            .list_services()
            .cluster(CLUSTER)
            .send()
            .await
            .expect("ListServices")
            .service_arns()
            .len()
    }
}

async fn client_direct(moto: &Moto) -> aws_sdk_ecs::Client {
    client(&moto.endpoint()).await
}

/// The state a deployment of `args` with `images` would record (for pure diff tests).
pub fn recorded(args: &ServiceArgs, images: &BTreeMap<String, String>) -> ServiceState {
    let containers = normalise::containers(args, images).expect("images for every container");
    ServiceState {
        args: args.clone(),
        arn: "arn:aws:ecs:us-east-1:123456789012:service/c/s".into(),
        task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/s:1".into(),
        family: "s".into(),
        revision: 1,
        images: containers
            .iter()
            .map(|c| (c.name.clone(), c.image.clone()))
            .collect(),
        container_definitions: containers,
        task_settings: normalise::task(args),
        registered_revisions: vec!["arn:aws:ecs:us-east-1:123456789012:task-definition/s:1".into()],
        ..Default::default()
    }
}

/// Collects progress lines (the deployer's `tracing` events).
#[derive(Default, Clone)]
pub struct Log(Lines);

impl Log {
    /// Attach to a deployer call with `WithSubscriber::with_subscriber`.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        self.0.subscriber()
    }
    pub fn lines(&self) -> Vec<String> {
        self.0.all()
    }
}

/// A CloudWatch Logs client straight to moto (the pre-deploy task's log lines).
pub fn logs_client(endpoint: &str) -> aws_sdk_cloudwatchlogs::Client {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatchlogs::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(conf)
}
