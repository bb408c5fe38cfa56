//! Delete: scale to zero, delete, wait for INACTIVE, deregister the
//! revisions this resource registered.

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
        let name = service_name(&state.args)?;
        let cluster = state.args.cluster.as_str();
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
