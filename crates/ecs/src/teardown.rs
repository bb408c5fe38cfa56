//! Delete: scale to zero, delete, wait for INACTIVE, deregister the
//! revisions this resource registered (and, with an owner, every revision
//! an interrupted attempt of it registered).
//!
//! The service is addressed by the ARN the state recorded, not by the
//! cluster and name of the inputs: a state whose inputs name another
//! service (edited, imported, moved) must never delete that one.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::args::ServiceState;
use crate::deploy::{aws_error, describe, progress, service_name, DeployError, Deployer};

impl Deployer {
    /// Scales to zero, deletes the service, waits until it is INACTIVE
    /// (bounded by `wait.timeoutSeconds`) and deregisters every revision
    /// this resource registered. A service that is already gone is fine.
    pub async fn delete(
        &self,
        state: &ServiceState,
        cancel: &CancellationToken,
    ) -> Result<(), DeployError> {
        let (cluster, name) = delete_target(state)?;
        let (cluster, name) = (cluster.as_str(), name.as_str());
        if let Some(svc) = describe(&self.client, cluster, name, false).await? {
            if svc.status() == Some("ACTIVE") {
                if svc.desired_count() > 0 {
                    progress(&format!("scaling service {name} to 0 tasks"));
                    self.client
                        .update_service()
                        .cluster(cluster)
                        .service(name)
                        .desired_count(0)
                        .send()
                        .await
                        .map_err(|e| aws_error("UpdateService", name, e))?;
                }
                progress(&format!("deleting service {name}"));
                if let Err(e) = self
                    .client
                    .delete_service()
                    .cluster(cluster)
                    .service(name)
                    .send()
                    .await
                {
                    let gone = e.as_service_error().is_some_and(|se| {
                        se.is_service_not_found_exception()
                            || se.meta().code() == Some("ServiceNotActiveException")
                    });
                    if !gone {
                        return Err(aws_error("DeleteService", name, e));
                    }
                }
            }
            self.wait_inactive(cluster, name, self.wait_timeout(&state.args), cancel)
                .await?;
        }
        for arn in &state.registered_revisions {
            self.deregister(arn).await;
        }
        if !state.family.is_empty() {
            self.sweep_owned(&state.family, &[], cluster, true).await;
        }
        Ok(())
    }

    async fn wait_inactive(
        &self,
        cluster: &str,
        name: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), DeployError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = String::new();
        loop {
            let status = match describe(&self.client, cluster, name, false).await? {
                None => return Ok(()),
                Some(s) if s.status() == Some("INACTIVE") => return Ok(()),
                Some(s) => s.status().unwrap_or("unknown").to_string(),
            };
            if status != last {
                progress(&format!("service {name} is {status}"));
                last = status.clone();
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(DeployError::DeleteTimedOut {
                    name: name.to_string(),
                    status,
                    seconds: timeout.as_secs(),
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll_interval.min(deadline - now)) => {}
                _ = cancel.cancelled() => return Err(DeployError::Cancelled { state: None, during: format!("waiting for {name} to become INACTIVE") }),
            }
        }
    }
}

/// The cluster and service a delete addresses: the recorded ARNs; the
/// inputs' cluster and name only for a state that recorded no ARN.
fn delete_target(state: &ServiceState) -> Result<(String, String), DeployError> {
    if state.arn.starts_with("arn:") {
        let cluster = if state.cluster_arn.starts_with("arn:") {
            state.cluster_arn.clone()
        } else {
            // `arn:...:service/<cluster>/<name>` (the long ARN format).
            let parts: Vec<&str> = state.arn.rsplit('/').collect();
            match parts.as_slice() {
                [_, cluster, _, ..] => (*cluster).to_string(),
                _ => state.args.cluster.clone(),
            }
        };
        return Ok((cluster, state.arn.clone()));
    }
    Ok((
        state.args.cluster.clone(),
        service_name(&state.args)?.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_goes_by_the_recorded_arn() {
        let mut state = ServiceState::default();
        state.args.cluster = "inputs-cluster".into();
        state.args.name = Some("inputs-name".into());
        assert_eq!(
            delete_target(&state).unwrap(),
            ("inputs-cluster".to_string(), "inputs-name".to_string())
        );
        state.arn = "arn:aws:ecs:us-east-1:1:service/real/svc-a".into();
        assert_eq!(
            delete_target(&state).unwrap(),
            ("real".to_string(), state.arn.clone())
        );
        state.cluster_arn = "arn:aws:ecs:us-east-1:1:cluster/real".into();
        assert_eq!(
            delete_target(&state).unwrap(),
            (state.cluster_arn.clone(), state.arn.clone())
        );
    }
}
