//! Resuming a create that a killed run began.
//!
//! When the plugin dies during a create, the engine records nothing, and the
//! next run creates again from no state. What the killed run made carries
//! this resource's ownership mark (`ownership`), so the next create:
//! - adopts the service of the same name (explicit names, or the same
//!   proposal) and moves it to the revision it would register, then waits;
//! - deletes services of other names it finds marked as its own and not
//!   recorded by the engine (an autonamed create: the engine draws a new
//!   random seed per run, so the retry has a new name and nothing can
//!   depend on the old one), with their revisions;
//! - deregisters the marked revisions it does not run.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::Service;

use crate::args::{ServiceArgs, ServiceState};
use crate::deploy::{
    aws_error, created_state, pinned_containers, progress, service_name, DeployError, Deployer,
    Registered,
};
use crate::normalise;
use crate::wait::short;

impl Deployer {
    /// Takes over `existing`, a service an interrupted create of this
    /// resource made, and brings it to `reg`.
    pub(crate) async fn resume_create(
        &self,
        args: &ServiceArgs,
        images: &BTreeMap<String, String>,
        existing: &Service,
        reg: Registered,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<ServiceState, DeployError> {
        let name = service_name(args)?;
        let cluster = args.cluster.as_str();
        let containers = pinned_containers(args, images)?;
        let task = normalise::task(args);
        let svc = normalise::service(args);
        progress(&format!(
            "service {name} carries this resource's mark but no state records it \
             (an interrupted run created it): adopting it"
        ));
        let mut service = existing.clone();
        if existing.task_definition() != Some(reg.arn.as_str())
            || existing.desired_count() != svc.desired_count
        {
            progress(&format!("updating service {name} to {}", short(&reg.arn)));
            let out = self
                .client
                .update_service()
                .cluster(cluster)
                .service(name)
                .task_definition(&reg.arn)
                .desired_count(svc.desired_count)
                .send()
                .await
                .map_err(|e| aws_error("UpdateService", name, e))?;
            if let Some(s) = out.service() {
                service = s.clone();
            }
        }
        let mut state = created_state(args, Some(&service), reg, containers, task, None);
        // Before the wait: a rollout that fails (or is killed) must not
        // keep what earlier attempts left.
        self.clean_after_interrupted_runs(&state).await;
        if args.waits() {
            self.wait_for(&mut state, cancel).await?;
        }
        Ok(state)
    }

    /// Once a create has its service: removes what interrupted earlier creates
    /// of this resource left (other services, revisions not running).
    /// Best effort: a failure is a progress line, and the next create or
    /// the delete tries again.
    pub(crate) async fn clean_after_interrupted_runs(&self, state: &ServiceState) {
        if self.owner.is_none() {
            return;
        }
        let keep = vec![state.task_definition_arn.clone()];
        let Ok(name) = service_name(&state.args) else {
            return;
        };
        let cluster = state.args.cluster.as_str();
        for orphan in self.orphan_services(cluster, name).await {
            let orphan_name = orphan.service_name().unwrap_or_default().to_string();
            progress(&format!(
                "deleting service {orphan_name}: an interrupted create of this resource made it"
            ));
            let deleted = self
                .client
                .delete_service()
                .cluster(cluster)
                .service(orphan.service_arn().unwrap_or(&orphan_name))
                .force(true)
                .send()
                .await;
            if let Err(e) = deleted {
                progress(&format!(
                    "could not delete service {orphan_name}: {}",
                    aws_error("DeleteService", &orphan_name, e)
                ));
            }
        }
        // After the orphan services are gone, their revisions are unused.
        self.sweep_owned(&state.family, &keep, cluster, true).await;
    }

    /// ACTIVE services of `cluster` other than `name` that carry this
    /// deployer's mark and that the engine has not recorded.
    async fn orphan_services(&self, cluster: &str, name: &str) -> Vec<Service> {
        self.owned_services(cluster)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|s| {
                s.service_name()
                    .is_some_and(|n| n != name && !self.is_recorded(n))
            })
            .collect()
    }
}
