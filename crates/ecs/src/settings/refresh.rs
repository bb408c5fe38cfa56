//! Refresh of the service-level settings: what DescribeServices reports
//! that differs from the program is written back into the inputs, so the
//! next diff shows the way back.
//!
//! Placement, the deployment controller and Availability Zone rebalancing
//! are compared only when the service reports them (an emulator may leave
//! them out, and "not reported" must not read as "removed"), and
//! Availability Zone rebalancing only when the program states it. Service
//! Connect is not read back: deployments may report it with ECS's defaults
//! filled in (client alias DNS names, namespaces by ARN) that the program
//! does not state, so a comparison could report drift that is not there.
//! ECS managed tags are not read back either (a plain boolean: "not
//! reported" and "off" look the same).

use aws_sdk_ecs::types::Service;

use super::convert;
use super::types::{DeploymentController, PlacementConstraint, PlacementStrategy, Toggle};
use crate::args::ServiceArgs;
use crate::normalise::NormalService;

const OUTSIDE: &str = "(changed outside the program)";

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// Records drift of `svc` from `want` in `args` and `drift`.
pub(crate) fn read(
    svc: &Service,
    want: &NormalService,
    args: &mut ServiceArgs,
    drift: &mut Vec<String>,
) {
    let actual = convert::read_service(svc);
    let want = &want.settings;
    if let Some(dc) = actual.deployment_controller {
        let wanted = super::normal::deployment_controller(args);
        if dc != wanted.as_str() {
            drift.push(format!(
                "deploymentController.type {wanted} -> {dc} {OUTSIDE}"
            ));
            if let Some(t) = parse(&dc) {
                args.deployment_controller = Some(DeploymentController { r#type: t });
            }
        }
    }
    if actual.service_registries != want.service_registries {
        drift.push(format!("serviceRegistries {OUTSIDE}"));
        args.service_registries = Some(actual.service_registries).filter(|r| !r.is_empty());
    }
    if !actual.placement_constraints.is_empty()
        && actual.placement_constraints != want.placement_constraints
    {
        drift.push(format!("placementConstraints {OUTSIDE}"));
        args.placement_constraints = Some(
            actual
                .placement_constraints
                .iter()
                .filter_map(|c| {
                    Some(PlacementConstraint {
                        r#type: parse(&c.r#type)?,
                        expression: c.field.clone(),
                    })
                })
                .collect(),
        );
    }
    if !actual.placement_strategy.is_empty() && actual.placement_strategy != want.placement_strategy
    {
        drift.push(format!("placementStrategy {OUTSIDE}"));
        args.placement_strategy = Some(
            actual
                .placement_strategy
                .iter()
                .filter_map(|p| {
                    Some(PlacementStrategy {
                        r#type: parse(&p.r#type)?,
                        field: p.field.clone(),
                    })
                })
                .collect(),
        );
    }
    // Only when the program states it: services created before ECS made
    // ENABLED the default report DISABLED, and a program that never set it
    // must not have it flipped by a refresh and the next update.
    let stated = args.availability_zone_rebalancing.is_some();
    if let Some(az) = actual.availability_zone_rebalancing.filter(|_| stated) {
        if az != want.availability_zone_rebalancing {
            drift.push(format!(
                "availabilityZoneRebalancing {} -> {az} {OUTSIDE}",
                want.availability_zone_rebalancing
            ));
            args.availability_zone_rebalancing = parse::<Toggle>(&az);
        }
    }
}
