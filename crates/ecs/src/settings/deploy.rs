//! The service-level settings on CreateService and UpdateService requests.
//!
//! UpdateService keeps whatever a request leaves out, so updates send only
//! the settings that changed, and a setting the program dropped is sent in
//! its "off" form (an empty list, Service Connect `enabled: false`). A
//! setting whose ECS default differs between create and update
//! (Availability Zone rebalancing) is sent only when the program states it
//! or it changed, so an update never flips a service the program did not
//! ask to change.

use aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder;
use aws_sdk_ecs::operation::update_service::builders::UpdateServiceFluentBuilder;

use super::convert;
use super::normal;
use crate::args::ServiceArgs;
use crate::deploy::{invalid, DeployError};
use crate::normalise::NormalService;

/// Adds the settings to a CreateService request.
pub(crate) fn create_request(
    mut req: CreateServiceFluentBuilder,
    args: &ServiceArgs,
    svc: &NormalService,
) -> Result<CreateServiceFluentBuilder, DeployError> {
    let s = &svc.settings;
    req = req.set_service_connect_configuration(
        convert::service_connect(s, false)
            .map_err(|e| invalid("serviceConnectConfiguration", e))?,
    );
    if !s.service_registries.is_empty() {
        req = req.set_service_registries(Some(convert::service_registries(s)));
    }
    if !s.placement_constraints.is_empty() {
        req = req.set_placement_constraints(Some(convert::placement_constraints(s)));
    }
    if !s.placement_strategy.is_empty() {
        req = req.set_placement_strategy(Some(convert::placement_strategy(s)));
    }
    if args.deployment_controller.is_some() {
        req = req.deployment_controller(
            convert::deployment_controller(normal::deployment_controller(args))
                .map_err(|e| invalid("deploymentController", e))?,
        );
    }
    if args.availability_zone_rebalancing.is_some() {
        req = req.availability_zone_rebalancing(convert::availability_zone_rebalancing(s));
    }
    Ok(req.enable_ecs_managed_tags(s.enable_ecs_managed_tags))
}

/// Adds the settings to an UpdateService request, given what the service
/// was deployed with (`old`) and what it should have (`new`). Only what
/// changed is sent: Service Connect and service registries start a new
/// deployment whenever they are sent, and what is left out stays as it is.
pub(crate) fn update_request(
    mut req: UpdateServiceFluentBuilder,
    args: &ServiceArgs,
    old: &NormalService,
    new: &NormalService,
) -> Result<UpdateServiceFluentBuilder, DeployError> {
    let (o, s) = (&old.settings, &new.settings);
    if o.service_connect_configuration != s.service_connect_configuration {
        req = req.set_service_connect_configuration(
            convert::service_connect(s, o.service_connect_configuration.is_some())
                .map_err(|e| invalid("serviceConnectConfiguration", e))?,
        );
    }
    if o.service_registries != s.service_registries {
        req = req.set_service_registries(Some(convert::service_registries(s)));
    }
    if o.placement_constraints != s.placement_constraints {
        req = req.set_placement_constraints(Some(convert::placement_constraints(s)));
    }
    if o.placement_strategy != s.placement_strategy {
        req = req.set_placement_strategy(Some(convert::placement_strategy(s)));
    }
    if args.availability_zone_rebalancing.is_some()
        || o.availability_zone_rebalancing != s.availability_zone_rebalancing
    {
        req = req.availability_zone_rebalancing(convert::availability_zone_rebalancing(s));
    }
    Ok(req.enable_ecs_managed_tags(s.enable_ecs_managed_tags))
}
