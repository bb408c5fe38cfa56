//! Refresh: reading a service back and reporting what changed outside
//! the program.
//!
//! Drift is written into the returned state's inputs (desiredCount, network,
//! ...) and recorded task definition, so the next diff shows the way back to
//! the program's definition. A deleted, DRAINING or INACTIVE service is gone.

use crate::args::{ServiceArgs, ServiceState};
use crate::convert;
use crate::deploy::{
    aws_error, describe, images_of, is_gone, service_name, DeployError, Deployer, Refreshed,
};
use crate::normalise::{self, NormalContainer, NormalService};
use crate::wait::short;

impl Deployer {
    /// Reads the service back. `None` when it was deleted or is INACTIVE
    /// (or DRAINING: on its way to INACTIVE). Drift in desiredCount,
    /// network, load balancers, deployment settings, propagateTags and the
    /// task definition is written into the returned state.
    pub async fn read(&self, state: &ServiceState) -> Result<Option<Refreshed>, DeployError> {
        let name = service_name(&state.args)?;
        let Some(svc) = describe(&self.client, &state.args.cluster, name, true).await? else {
            return Ok(None);
        };
        if is_gone(&svc) {
            return Ok(None);
        }
        let mut new = state.clone();
        let mut drift = Vec::new();
        let want = normalise::service(&state.args);
        let outside = "(changed outside the program)";

        if svc.desired_count() != want.desired_count {
            drift.push(format!(
                "desiredCount {} -> {} {outside}",
                want.desired_count,
                svc.desired_count()
            ));
            new.args.desired_count = Some(svc.desired_count());
        }
        if let Some(actual) = svc
            .network_configuration()
            .and_then(convert::normal_network)
        {
            if want.network_configuration.as_ref() != Some(&actual) {
                drift.push(format!("networkConfiguration {outside}"));
                new.args.network_configuration = Some(crate::args::NetworkConfiguration {
                    subnets: actual.subnets,
                    security_groups: Some(actual.security_groups).filter(|g| !g.is_empty()),
                    assign_public_ip: Some(actual.assign_public_ip),
                });
            }
        }
        let mut lbs: Vec<crate::args::LoadBalancer> = svc
            .load_balancers()
            .iter()
            .map(|l| crate::args::LoadBalancer {
                target_group_arn: l.target_group_arn().unwrap_or_default().to_string(),
                container_name: l.container_name().unwrap_or_default().to_string(),
                container_port: l.container_port().unwrap_or_default(),
            })
            .collect();
        lbs.sort();
        if lbs != want.load_balancers {
            drift.push(format!("loadBalancers {outside}"));
            new.args.load_balancers = Some(lbs).filter(|l| !l.is_empty());
        }
        if let Some(g) = svc.health_check_grace_period_seconds() {
            if g != want.health_check_grace_period_seconds {
                drift.push(format!(
                    "healthCheckGracePeriodSeconds {} -> {g} {outside}",
                    want.health_check_grace_period_seconds
                ));
                new.args.health_check_grace_period_seconds = Some(g);
            }
        }
        if let Some(dc) = svc.deployment_configuration() {
            read_deployment_configuration(dc, &want, &mut new.args, &mut drift);
        }
        if let Some(p) = svc.propagate_tags() {
            if p.as_str() != want.propagate_tags {
                drift.push(format!(
                    "propagateTags {} -> {} {outside}",
                    want.propagate_tags,
                    p.as_str()
                ));
                new.args.propagate_tags =
                    serde_json::from_value(serde_json::Value::String(p.as_str().to_string())).ok();
            }
        }
        crate::settings::refresh::read(&svc, &want, &mut new.args, &mut drift);
        if let Some(p) = svc
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
        {
            new.deployment_id = p.id().map(str::to_string);
            new.rollout_state = p.rollout_state().map(|r| r.as_str().to_string());
        }
        if let Some(actual) = svc.task_definition() {
            if actual != state.task_definition_arn {
                drift.push(format!(
                    "task definition {} -> {} {outside}",
                    short(&state.task_definition_arn),
                    short(actual)
                ));
                self.read_task_definition(actual, &mut new).await?;
            }
        }
        Ok(Some(Refreshed { state: new, drift }))
    }

    async fn read_task_definition(
        &self,
        arn: &str,
        state: &mut ServiceState,
    ) -> Result<(), DeployError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| aws_error("DescribeTaskDefinition", arn, e))?;
        let Some(td) = out.task_definition() else {
            return Ok(());
        };
        let task = convert::normal_task(td);
        let containers: Vec<NormalContainer> = td
            .container_definitions()
            .iter()
            .map(|c| convert::normal_container(c, &task.network_mode))
            .collect();
        state.task_definition_arn = arn.to_string();
        state.family = task.family.clone();
        state.revision = i64::from(td.revision());
        state.images = images_of(&containers);
        state.container_definitions = containers;
        state.task_settings = task;
        Ok(())
    }
}

fn read_deployment_configuration(
    dc: &aws_sdk_ecs::types::DeploymentConfiguration,
    want: &NormalService,
    args: &mut ServiceArgs,
    drift: &mut Vec<String>,
) {
    let outside = "(changed outside the program)";
    if let Some(cb) = dc.deployment_circuit_breaker() {
        let actual = (cb.enable(), cb.rollback());
        let wanted = (
            want.deployment_circuit_breaker.enable,
            want.deployment_circuit_breaker.rollback,
        );
        if actual != wanted {
            drift.push(format!("deploymentCircuitBreaker {outside}"));
            args.deployment_circuit_breaker = Some(crate::args::DeploymentCircuitBreaker {
                enable: Some(actual.0),
                rollback: Some(actual.1),
            });
        }
    }
    let min = dc.minimum_healthy_percent();
    let max = dc.maximum_percent();
    let wanted = &want.deployment_configuration;
    let min_differs = min.is_some_and(|m| m != wanted.minimum_healthy_percent);
    let max_differs = max.is_some_and(|m| m != wanted.maximum_percent);
    if min_differs || max_differs {
        drift.push(format!("deploymentConfiguration {outside}"));
        args.deployment_configuration = Some(crate::args::DeploymentConfiguration {
            minimum_healthy_percent: Some(min.unwrap_or(wanted.minimum_healthy_percent)),
            maximum_percent: Some(max.unwrap_or(wanted.maximum_percent)),
        });
    }
}
