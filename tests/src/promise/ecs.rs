//! moto standing in for ECS, with the fault-injection proxy in front of it.
//!
//! moto accepts the ECS API but never progresses a deployment and never
//! throttles, so the provider talks to moto through the ECS crate's
//! fault-injection proxy (`imagedeploy_testsupport::ecs_faults::FaultProxy`): it
//! simulates finished rollouts, rollbacks and throttling on demand and
//! records every call, which is how tests count AWS writes. The test's own
//! checks (revision counts, "changes made outside the program") go straight
//! to moto.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_ecs::config::{Credentials, Region};
use imagedeploy_testsupport::ecs_faults::{create_network, FaultProxy, MotoNetwork, Rollout};
use imagedeploy_testsupport::Moto;
use serde_json::{json, Value as Json};

use crate::Deployment;

pub const REGION: &str = "us-east-1";
pub const CLUSTER: &str = "e2e-cluster";

/// How often the provider polls DescribeServices here: rollouts through the
/// proxy finish at once, so the default 5 s would only slow tests down.
const POLL_INTERVAL_MS: &str = "100";

/// moto, the fault-injection proxy, a cluster and an awsvpc network.
pub struct EcsEnv {
    pub moto: Moto,
    /// FAULT INJECTION: what the provider talks to instead of ECS.
    pub proxy: FaultProxy,
    pub network: MotoNetwork,
    /// Client straight to moto, for the test's own checks.
    pub direct: aws_sdk_ecs::Client,
}

impl EcsEnv {
    /// Starts moto and the proxy (rollouts complete), creates the cluster
    /// and a VPC/subnet/security group for awsvpc services.
    pub async fn start() -> anyhow::Result<Self> {
        let moto = Moto::start().context("moto is required for the Service tests")?;
        let proxy = FaultProxy::start(&moto.endpoint())
            .await
            .context("start the ECS fault-injection proxy")?;
        proxy.set_rollout(Rollout::Complete);
        let network = create_network(&moto.endpoint(), REGION)
            .await
            .context("create the moto EC2 network awsvpc services need")?;
        let conf = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(moto.endpoint())
            .credentials_provider(Credentials::new("test", "test", None, None, "e2e"))
            .build();
        let direct = aws_sdk_ecs::Client::from_conf(conf);
        direct
            .create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .context("create the ECS cluster in moto")?;
        Ok(EcsEnv {
            moto,
            proxy,
            network,
            direct,
        })
    }

    /// Provider configuration: ECS through the proxy, ECR and CloudWatch
    /// Logs straight to moto.
    pub fn provider_config(&self) -> Json {
        json!({
            "region": REGION,
            "endpoints": {
                "ecs": self.proxy.endpoint(),
                "ecr": self.moto.endpoint(),
                "logs": self.moto.endpoint(),
            },
            "skipCredentialsValidation": true,
        })
    }

    /// A fresh stack whose provider processes get dummy AWS credentials and
    /// a short DescribeServices poll interval.
    pub fn deployment(&self) -> anyhow::Result<Deployment> {
        Ok(Deployment::new()?
            .with_env("AWS_ACCESS_KEY_ID", "test")
            .with_env("AWS_SECRET_ACCESS_KEY", "test")
            .with_env("AWS_EC2_METADATA_DISABLED", "true")
            .with_env("IMAGEDEPLOY_ECS_POLL_INTERVAL_MS", POLL_INTERVAL_MS)
            .with_rpc_timeout(Duration::from_secs(300)))
    }

    /// Service inputs every test starts from: Fargate 256/512, the moto
    /// network, one container `web` with `image`, a short wait timeout.
    pub fn service_inputs(&self, image: &Json) -> Json {
        json!({
            "cluster": CLUSTER,
            "cpu": 256,
            "memory": 512,
            "networkConfiguration": {
                "subnets": [self.network.subnet_id],
                "securityGroups": [self.network.security_group_id],
            },
            "containers": [{
                "name": "web",
                "image": image,
                "portMappings": [{"containerPort": 8080}],
                "environment": {"LOG_LEVEL": "info", "MODE": "web"},
            }],
            "wait": {"timeoutSeconds": 30},
        })
    }

    /// Task definition ARNs of `family` with `status` (`ACTIVE` or `INACTIVE`).
    pub async fn revisions_with(&self, family: &str, status: &str) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .direct
                .list_task_definitions()
                .family_prefix(family)
                .status(status.into())
                .set_next_token(next.clone())
                .send()
                .await
                .context("ListTaskDefinitions against moto")?;
            arns.extend(out.task_definition_arns().iter().cloned());
            next = out.next_token().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        // A family prefix also matches longer families.
        arns.retain(|a| {
            a.rsplit('/')
                .next()
                .and_then(|t| t.rsplit_once(':'))
                .is_some_and(|(f, _)| f == family)
        });
        Ok(arns)
    }

    /// Revisions of `family` still ACTIVE.
    pub async fn active_revisions(&self, family: &str) -> anyhow::Result<Vec<String>> {
        self.revisions_with(family, "ACTIVE").await
    }

    /// Every revision ever registered in `family` (ACTIVE and INACTIVE).
    pub async fn registered_revisions(&self, family: &str) -> anyhow::Result<usize> {
        Ok(self.revisions_with(family, "ACTIVE").await?.len()
            + self.revisions_with(family, "INACTIVE").await?.len())
    }

    /// The service as moto has it (None when moto does not know it).
    pub async fn service(&self, name: &str) -> anyhow::Result<Option<aws_sdk_ecs::types::Service>> {
        let out = self
            .direct
            .describe_services()
            .cluster(CLUSTER)
            .services(name)
            .send()
            .await
            .context("DescribeServices against moto")?;
        Ok(out
            .services()
            .iter()
            .find(|s| s.service_name() == Some(name))
            .cloned())
    }

    /// Container images of a task definition, as ECS stores them.
    pub async fn images_of(&self, task_definition: &str) -> anyhow::Result<Vec<String>> {
        let out = self
            .direct
            .describe_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .context("DescribeTaskDefinition against moto")?;
        Ok(out
            .task_definition()
            .map(|td| {
                td.container_definitions()
                    .iter()
                    .filter_map(|c| c.image().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// ECS operations that wrote (not Describe/List/Get) since the last
    /// [`FaultProxy::clear_calls`].
    pub fn writes(&self) -> Vec<String> {
        self.proxy.write_calls()
    }
}
