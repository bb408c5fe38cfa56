//! Ownership marks, so that a run killed between an AWS write and the engine
//! recording its result leaves nothing the next run cannot find.
//!
//! Everything a [`Deployer`] with an owner registers or creates carries the
//! tag [`OWNER_TAG`] = a token derived from the resource's URN. The engine
//! records nothing of a create whose plugin died, so the next run starts
//! from no state; the tag is then how it recognises:
//! - the service the killed run created (same name: adopted; another name,
//!   from a fresh autoname seed: deleted, it was never recorded and nothing
//!   depends on it);
//! - the task definition revisions it registered (reused when identical,
//!   deregistered when superseded or on delete).
//!
//! Without an owner (tests of the crate, callers that cannot name the
//! resource) nothing is tagged and nothing is adopted.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{
    Service, ServiceField, Tag, TaskDefinitionFamilyStatus, TaskDefinitionField,
};
use sha2::{Digest, Sha256};

use crate::deploy::{progress, Deployer};
use crate::wait::short;

/// DescribeServices takes at most this many services per call.
const DESCRIBE_BATCH: usize = 10;

/// The tag key of the ownership mark (on services and revisions).
pub const OWNER_TAG: &str = "imagedeploy:owner";

/// Who owns what a deployer registers: the token and the names of services
/// the engine has recorded for this resource (a replacement's old service
/// is owned too, but it is not an orphan).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    pub token: String,
    pub recorded_names: BTreeSet<String>,
    /// Task definition families starting with this (and `-`) may hold
    /// revisions of this owner: an autonamed service's family follows its
    /// name, and a retried create has a new name.
    pub family_prefix: Option<String>,
    /// Clusters where services of this owner may run (the engine's olds and
    /// news of this run): their revisions are in use, never orphans.
    pub clusters: BTreeSet<String>,
}

impl Owner {
    /// The owner token of the resource `urn`: stable across runs and
    /// machines, distinct per stack and resource.
    pub fn of_urn(urn: &str) -> Self {
        let digest = Sha256::digest(format!("imagedeploy-owner\n{urn}"));
        Owner {
            token: hex::encode(digest)[..32].to_string(),
            recorded_names: BTreeSet::new(),
            family_prefix: None,
            clusters: BTreeSet::new(),
        }
    }

    /// Clusters where services of this owner may run.
    pub fn with_clusters(mut self, clusters: impl IntoIterator<Item = String>) -> Self {
        self.clusters.extend(clusters);
        self
    }

    /// Also look for this owner's revisions in the families `<prefix>-*`
    /// (the autoname base, see [`crate::validate::autoname`]).
    pub fn with_family_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.family_prefix = Some(prefix.into());
        self
    }

    /// Names of services the engine recorded for this resource.
    pub fn with_recorded(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.recorded_names.extend(names);
        self
    }
}

/// `tags` without the ownership mark (what a program states).
pub(crate) fn user_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|t| t.key() != Some(OWNER_TAG))
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

/// The family of a task definition ARN (`...:task-definition/<family>:<rev>`).
fn family_of(arn: &str) -> Option<&str> {
    let tail = arn.rsplit('/').next()?;
    tail.rsplit_once(':').map(|(f, _)| f)
}

impl Deployer {
    /// Marks what this deployer registers and creates as `owner`'s, and
    /// lets it adopt or clean up what an interrupted run of `owner` left.
    pub fn with_owner(mut self, owner: Owner) -> Self {
        self.owner = Some(owner);
        self
    }

    /// `user` plus the ownership mark, when there is an owner.
    pub(crate) fn owned_tags(&self, user: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut tags = user.clone();
        if let Some(o) = &self.owner {
            tags.insert(OWNER_TAG.to_string(), o.token.clone());
        }
        tags
    }

    /// True when `tags` carry this deployer's ownership mark.
    pub(crate) fn owns(&self, tags: &[Tag]) -> bool {
        let Some(o) = &self.owner else {
            return false;
        };
        tags.iter()
            .any(|t| t.key() == Some(OWNER_TAG) && t.value() == Some(o.token.as_str()))
    }

    /// True when the engine recorded a service called `name` for this resource.
    pub(crate) fn is_recorded(&self, name: &str) -> bool {
        self.owner
            .as_ref()
            .is_some_and(|o| o.recorded_names.contains(name))
    }

    /// ACTIVE revisions of `family` carrying this deployer's mark.
    pub(crate) async fn owned_revisions(&self, family: &str) -> Vec<String> {
        if self.owner.is_none() {
            return Vec::new();
        }
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let Ok(out) = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                .set_next_token(next.take())
                .send()
                .await
            else {
                break;
            };
            arns.extend(
                out.task_definition_arns()
                    .iter()
                    .filter(|a| family_of(a) == Some(family))
                    .cloned(),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        let mut owned = Vec::new();
        for arn in arns {
            let Ok(out) = self
                .client
                .describe_task_definition()
                .task_definition(&arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
            else {
                continue;
            };
            let active = out
                .task_definition()
                .and_then(|td| td.status())
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active && self.owns(out.tags()) {
                owned.push(arn);
            }
        }
        owned
    }

    /// Families that may hold this owner's revisions: `family` and, with a
    /// family prefix, the ACTIVE families `<prefix>-*`.
    async fn owned_families(&self, family: &str) -> BTreeSet<String> {
        let mut families = BTreeSet::from([family.to_string()]);
        let Some(prefix) = self.owner.as_ref().and_then(|o| o.family_prefix.clone()) else {
            return families;
        };
        let mut next: Option<String> = None;
        loop {
            let Ok(out) = self
                .client
                .list_task_definition_families()
                .family_prefix(format!("{prefix}-"))
                .status(TaskDefinitionFamilyStatus::Active)
                .set_next_token(next.take())
                .send()
                .await
            else {
                break;
            };
            families.extend(out.families().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        families
    }

    /// ACTIVE services of `cluster` carrying this deployer's mark; `None`
    /// when they cannot be listed (then nothing may be taken for unused).
    pub(crate) async fn owned_services(&self, cluster: &str) -> Option<Vec<Service>> {
        if self.owner.is_none() {
            return Some(Vec::new());
        }
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let Ok(out) = self
                .client
                .list_services()
                .cluster(cluster)
                .set_next_token(next.take())
                .send()
                .await
            else {
                return None;
            };
            arns.extend(out.service_arns().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        let mut owned = Vec::new();
        for batch in arns.chunks(DESCRIBE_BATCH) {
            let Ok(out) = self
                .client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(batch.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
            else {
                return None;
            };
            owned.extend(
                out.services()
                    .iter()
                    .filter(|s| s.status() == Some("ACTIVE") && self.owns(s.tags()))
                    .cloned(),
            );
        }
        Some(owned)
    }

    /// Revisions that ACTIVE services of this owner run or deploy, in
    /// `cluster` and the owner's other clusters: never orphans, whatever
    /// run registered them (a replacement's old and new service).
    async fn in_use(&self, cluster: &str) -> Option<BTreeSet<String>> {
        let mut clusters = self
            .owner
            .as_ref()
            .map(|o| o.clusters.clone())
            .unwrap_or_default();
        clusters.insert(cluster.to_string());
        let mut used = BTreeSet::new();
        for c in &clusters {
            for svc in self.owned_services(c).await? {
                used.extend(svc.task_definition().map(str::to_string));
                used.extend(
                    svc.deployments()
                        .iter()
                        .filter_map(|d| d.task_definition().map(str::to_string)),
                );
            }
        }
        Some(used)
    }

    /// Deregisters every revision of this owner that an earlier
    /// (interrupted or superseded) attempt registered and nothing runs:
    /// not in `keep`, not run by an ACTIVE service of this owner in
    /// `cluster` (or the owner's other clusters). Looks in `family` and,
    /// with `every_family`, in every family of the owner's prefix (a killed
    /// autonamed create registered in a family named after a name no run
    /// will use again). Best effort: returns what could not be deregistered.
    pub(crate) async fn sweep_owned(
        &self,
        family: &str,
        keep: &[String],
        cluster: &str,
        every_family: bool,
    ) -> Vec<String> {
        let mut failed = Vec::new();
        if self.owner.is_none() {
            return failed;
        }
        let families = if every_family {
            self.owned_families(family).await
        } else {
            BTreeSet::from([family.to_string()])
        };
        let Some(mut protected) = self.in_use(cluster).await else {
            progress("could not list this resource's services; superseded revisions stay for now");
            return failed;
        };
        protected.extend(keep.iter().cloned());
        for f in families {
            for arn in self.owned_revisions(&f).await {
                if protected.contains(&arn) {
                    continue;
                }
                progress(&format!(
                    "deregistering {} left by an earlier attempt",
                    short(&arn)
                ));
                if !self.deregister(&arn).await {
                    failed.push(arn);
                }
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tokens_are_stable_and_distinct() {
        let a = Owner::of_urn("urn:pulumi:dev::p::imagedeploy:index:Service::web");
        let b = Owner::of_urn("urn:pulumi:prod::p::imagedeploy:index:Service::web");
        assert_eq!(
            a,
            Owner::of_urn("urn:pulumi:dev::p::imagedeploy:index:Service::web")
        );
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 32);
    }

    #[test]
    fn family_is_read_from_the_arn() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:1:task-definition/web-1:12"),
            Some("web-1")
        );
        assert_eq!(family_of("nonsense"), None);
    }

    #[test]
    fn user_tags_drop_the_mark() {
        let tags = vec![
            Tag::builder().key(OWNER_TAG).value("x").build(),
            Tag::builder().key("team").value("a").build(),
        ];
        assert_eq!(
            user_tags(&tags),
            BTreeMap::from([("team".to_string(), "a".to_string())])
        );
    }
}
