//! The gRPC ResourceProvider service: request plumbing only.
//!
//! Each RPC turns protobuf messages into the wire value model, finds the
//! resource type, and hands over to `dispatch`; answers go back the same
//! way. Errors name the resource so the engine's message points at it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use pulumi_gestalt_proto::pulumi::pulumirpc as rpc;
use rpc::resource_provider_server::ResourceProvider;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::dispatch::{self, ErasedResource, OpFailure, PropertyMap};
use crate::log::Logger;
use crate::resource::{ChangeKind, Ctx, DiffOutcome, Failure};
use crate::schema::{object_shape_of, ObjectShape};
use crate::wire::status;
use crate::wire::typed::{decode, from_json, to_json, Annotations};
use crate::wire::value::{to_struct, Value};

/// The engine raises gRPC message limits to 400 MiB; so do we.
pub const MAX_MESSAGE: usize = 400 * 1024 * 1024;

/// What the application builds from its provider configuration: the
/// context every resource call sees.
pub trait AppContext: Default + Send + Sync + 'static {
    /// The provider configuration, as the schema declares it.
    type Config: serde::Serialize + serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync;
    /// Checks beyond types.
    fn check(config: &Self::Config) -> Vec<Failure>;
    /// The context for a configuration that passed `check`.
    fn new(config: Self::Config) -> Self;
}

/// The package's name, version and schema.
#[derive(Clone, Copy)]
pub struct ProviderInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub schema: fn() -> String,
}

pub struct Provider<C: AppContext> {
    info: ProviderInfo,
    resources: BTreeMap<&'static str, Arc<dyn ErasedResource<C>>>,
    config_shape: Arc<ObjectShape>,
    context: RwLock<Arc<C>>,
    logger: Logger,
    cancel: CancellationToken,
}

impl<C: AppContext> Provider<C> {
    pub fn new(
        info: ProviderInfo,
        resources: Vec<Arc<dyn ErasedResource<C>>>,
        logger: Logger,
        cancel: CancellationToken,
    ) -> Self {
        Provider {
            info,
            resources: resources.into_iter().map(|r| (r.token(), r)).collect(),
            config_shape: object_shape_of::<C::Config>(),
            context: RwLock::new(Arc::new(C::default())),
            logger,
            cancel,
        }
    }

    fn resource(&self, type_token: &str, urn: &str) -> Result<Arc<dyn ErasedResource<C>>, Status> {
        let token = if type_token.is_empty() {
            type_from_urn(urn)
        } else {
            type_token
        };
        self.resources.get(token).cloned().ok_or_else(|| {
            Status::invalid_argument(format!(
                "unknown resource type \"{token}\" ({urn}); this provider has: {}",
                self.resources
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    fn ctx(&self, urn: &str, name: &str, timeout_seconds: f64) -> Ctx<C> {
        let provider = self.context.read().map(|c| c.clone()).unwrap_or_default();
        Ctx {
            urn: urn.to_string(),
            name: name.to_string(),
            cancel: self.cancel.child_token(),
            provider,
            log: self.logger.clone(),
            inputs: Annotations::default(),
            timeout_seconds,
        }
    }

    /// Decodes provider configuration, accepting JSON-encoded strings.
    fn decode_config(&self, mut map: PropertyMap) -> (Option<C::Config>, Vec<Failure>) {
        map.remove("version");
        map.remove("pluginDownloadURL");
        crate::schema::validate::coerce_json_strings(&mut map, &self.config_shape);
        let mut failures = crate::schema::validate::validate(&map, &self.config_shape);
        if !failures.is_empty() {
            return (None, failures);
        }
        let (json, _) = decode(&map, &self.config_shape);
        match from_json::<C::Config>(json) {
            Ok(config) => {
                failures.extend(C::check(&config));
                (Some(config), failures)
            }
            Err(e) => (None, vec![Failure::new("", e)]),
        }
    }

    async fn finish<T>(&self, result: Result<T, Status>) -> Result<Response<T>, Status> {
        self.logger.flush().await;
        result.map(Response::new)
    }
}

fn type_from_urn(urn: &str) -> &str {
    // urn:pulumi:stack::project::[parent$]type::name
    urn.split("::")
        .nth(2)
        .map(|t| t.rsplit('$').next().unwrap_or(t))
        .unwrap_or("")
}

fn name_from_urn(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or(urn)
}

fn props(s: Option<&prost_types::Struct>) -> PropertyMap {
    Value::from_opt_struct(s)
}

fn failures_to_rpc(failures: Vec<Failure>) -> Vec<rpc::CheckFailure> {
    failures
        .into_iter()
        .map(|f| rpc::CheckFailure {
            property: f.property,
            reason: f.reason,
        })
        .collect()
}

/// `inputs` decides `inputDiff`: a path under an input property is shown
/// against the old inputs, any other (e.g. `baseImageDigests[...]`) against
/// the old outputs.
fn diff_response(outcome: &DiffOutcome, inputs: &ObjectShape) -> rpc::DiffResponse {
    use rpc::property_diff::Kind;
    if outcome.changes.is_empty() {
        return rpc::DiffResponse {
            changes: rpc::diff_response::DiffChanges::DiffNone as i32,
            has_detailed_diff: true,
            ..Default::default()
        };
    }
    let mut detailed = HashMap::new();
    let mut diffs = Vec::new();
    let mut replaces = Vec::new();
    for change in &outcome.changes {
        let kind = match (change.kind, change.replace) {
            (ChangeKind::Add, false) => Kind::Add,
            (ChangeKind::Add, true) => Kind::AddReplace,
            (ChangeKind::Delete, false) => Kind::Delete,
            (ChangeKind::Delete, true) => Kind::DeleteReplace,
            (ChangeKind::Update, false) => Kind::Update,
            (ChangeKind::Update, true) => Kind::UpdateReplace,
        };
        let top = top_level_key(&change.path);
        detailed.insert(
            change.path.clone(),
            rpc::PropertyDiff {
                kind: kind as i32,
                input_diff: inputs.property(&top).is_some(),
            },
        );
        if !diffs.contains(&top) {
            diffs.push(top.clone());
        }
        if change.replace && !replaces.contains(&top) {
            replaces.push(top);
        }
    }
    rpc::DiffResponse {
        replaces,
        stables: Vec::new(),
        delete_before_replace: outcome.delete_before_replace,
        changes: rpc::diff_response::DiffChanges::DiffSome as i32,
        diffs,
        detailed_diff: detailed,
        has_detailed_diff: true,
    }
}

fn top_level_key(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("[\"") {
        return rest.split("\"]").next().unwrap_or(rest).to_string();
    }
    path.split(['.', '[']).next().unwrap_or(path).to_string()
}

fn op_status(
    resource: &str,
    urn: &str,
    verb: &str,
    failure: OpFailure,
    inputs: &PropertyMap,
) -> Status {
    let name = name_from_urn(urn);
    match failure {
        OpFailure::Error(message) => {
            Status::unknown(format!("{resource} \"{name}\": {verb} failed: {message}"))
        }
        OpFailure::Partial {
            id,
            outputs,
            reasons,
        } => {
            let message = format!(
                "{resource} \"{name}\": {verb} did not complete: {}",
                reasons.join("; ")
            );
            status::init_failed(&message, &id, &outputs, inputs, reasons)
        }
    }
}

#[tonic::async_trait]
impl<C: AppContext> ResourceProvider for Provider<C> {
    async fn handshake(
        &self,
        request: Request<rpc::ProviderHandshakeRequest>,
    ) -> Result<Response<rpc::ProviderHandshakeResponse>, Status> {
        self.logger.connect(&request.get_ref().engine_address);
        Ok(Response::new(rpc::ProviderHandshakeResponse {
            accept_secrets: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: true,
        }))
    }

    async fn parameterize(
        &self,
        _request: Request<rpc::ParameterizeRequest>,
    ) -> Result<Response<rpc::ParameterizeResponse>, Status> {
        Err(Status::unimplemented(format!(
            "{} is not a parameterized provider",
            self.info.name
        )))
    }

    async fn get_schema(
        &self,
        request: Request<rpc::GetSchemaRequest>,
    ) -> Result<Response<rpc::GetSchemaResponse>, Status> {
        if !request.get_ref().subpackage_name.is_empty() {
            return Err(Status::invalid_argument(format!(
                "{} has no sub-packages",
                self.info.name
            )));
        }
        Ok(Response::new(rpc::GetSchemaResponse {
            schema: (self.info.schema)(),
        }))
    }

    async fn check_config(
        &self,
        request: Request<rpc::CheckRequest>,
    ) -> Result<Response<rpc::CheckResponse>, Status> {
        let req = request.into_inner();
        let news = props(req.news.as_ref());
        let (_, failures) = self.decode_config(news.clone());
        Ok(Response::new(rpc::CheckResponse {
            inputs: Some(to_struct(&news)),
            failures: failures_to_rpc(failures),
        }))
    }

    async fn diff_config(
        &self,
        request: Request<rpc::DiffRequest>,
    ) -> Result<Response<rpc::DiffResponse>, Status> {
        let req = request.into_inner();
        let old_inputs = req.old_inputs.as_ref().or(req.olds.as_ref());
        let (old, _) = self.decode_config(props(old_inputs));
        let news = props(req.news.as_ref());
        let any_unknown = news.values().any(Value::contains_unknown);
        let (new, _) = self.decode_config(news);
        let old_json = old
            .as_ref()
            .and_then(|c| to_json(c).ok())
            .unwrap_or_default();
        let new_json = new
            .as_ref()
            .and_then(|c| to_json(c).ok())
            .unwrap_or_default();
        let mut outcome = DiffOutcome::default();
        for (name, _) in &self.config_shape.properties {
            let changed = old_json.get(name) != new_json.get(name);
            if changed || (any_unknown && new.is_none()) {
                outcome
                    .changes
                    .push(crate::resource::Change::update(name.clone()));
            }
        }
        Ok(Response::new(diff_response(&outcome, &self.config_shape)))
    }

    async fn configure(
        &self,
        request: Request<rpc::ConfigureRequest>,
    ) -> Result<Response<rpc::ConfigureResponse>, Status> {
        let req = request.into_inner();
        let map = match req.args.as_ref() {
            Some(args) => props(Some(args)),
            None => req
                .variables
                .iter()
                .map(|(k, v)| {
                    let key = k.rsplit(':').next().unwrap_or(k).to_string();
                    (key, Value::String(v.clone()))
                })
                .collect(),
        };
        let (config, failures) = self.decode_config(map);
        let config = match (config, failures.is_empty()) {
            (Some(config), true) => config,
            (_, _) => {
                let text: Vec<String> = failures
                    .iter()
                    .map(|f| format!("{}: {}", f.property, f.reason))
                    .collect();
                return Err(Status::invalid_argument(format!(
                    "invalid {} provider configuration: {}",
                    self.info.name,
                    text.join("; ")
                )));
            }
        };
        if let Ok(mut slot) = self.context.write() {
            *slot = Arc::new(C::new(config));
        }
        Ok(Response::new(rpc::ConfigureResponse {
            accept_secrets: true,
            supports_preview: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: true,
        }))
    }

    async fn invoke(
        &self,
        request: Request<rpc::InvokeRequest>,
    ) -> Result<Response<rpc::InvokeResponse>, Status> {
        Err(Status::unimplemented(format!(
            "{} has no function \"{}\"",
            self.info.name,
            request.get_ref().tok
        )))
    }

    async fn call(
        &self,
        request: Request<rpc::CallRequest>,
    ) -> Result<Response<rpc::CallResponse>, Status> {
        Err(Status::unimplemented(format!(
            "{} has no method \"{}\"",
            self.info.name,
            request.get_ref().tok
        )))
    }

    async fn check(
        &self,
        request: Request<rpc::CheckRequest>,
    ) -> Result<Response<rpc::CheckResponse>, Status> {
        let req = request.into_inner();
        let resource = self.resource(&req.r#type, &req.urn)?;
        let name = if req.name.is_empty() {
            name_from_urn(&req.urn).to_string()
        } else {
            req.name.clone()
        };
        let ctx = self.ctx(&req.urn, &name, 0.0);
        let olds = req.olds.as_ref().map(|s| props(Some(s)));
        let proposed_name = req
            .autonaming
            .as_ref()
            .filter(|a| !a.proposed_name.is_empty())
            .map(|a| a.proposed_name.clone());
        let (inputs, failures) = resource
            .check(
                ctx,
                dispatch::CheckRequest {
                    olds,
                    news: props(req.news.as_ref()),
                    random_seed: req.random_seed,
                    proposed_name,
                },
            )
            .await;
        self.finish(Ok(rpc::CheckResponse {
            inputs: Some(to_struct(&inputs)),
            failures: failures_to_rpc(failures),
        }))
        .await
    }

    async fn diff(
        &self,
        request: Request<rpc::DiffRequest>,
    ) -> Result<Response<rpc::DiffResponse>, Status> {
        let req = request.into_inner();
        let resource = self.resource(&req.r#type, &req.urn)?;
        let ctx = self.ctx(&req.urn, name_from_urn(&req.urn), 0.0);
        let outcome = resource
            .diff(
                ctx.clone(),
                dispatch::DiffRequest {
                    id: req.id,
                    olds: props(req.olds.as_ref()),
                    old_inputs: req.old_inputs.as_ref().map(|s| props(Some(s))),
                    news: props(req.news.as_ref()),
                    ignore_changes: req.ignore_changes,
                },
            )
            .await
            .map_err(|e| {
                Status::unknown(format!(
                    "{} \"{}\": diff failed: {e}",
                    resource.token(),
                    name_from_urn(&req.urn)
                ))
            });
        if let Ok(outcome) = &outcome {
            for reason in &outcome.reasons {
                ctx.info(reason);
            }
        }
        let inputs = resource.input_shape();
        let result = outcome.map(|o| diff_response(&o, &inputs));
        self.finish(result).await
    }

    async fn create(
        &self,
        request: Request<rpc::CreateRequest>,
    ) -> Result<Response<rpc::CreateResponse>, Status> {
        let req = request.into_inner();
        let resource = self.resource(&req.r#type, &req.urn)?;
        let ctx = self.ctx(&req.urn, name_from_urn(&req.urn), req.timeout);
        let news = props(req.properties.as_ref());
        let result = resource
            .create(ctx, news.clone(), req.preview)
            .await
            .map(|(id, outputs)| rpc::CreateResponse {
                id,
                properties: Some(to_struct(&outputs)),
                ..Default::default()
            })
            .map_err(|f| op_status(resource.token(), &req.urn, "create", f, &news));
        self.finish(result).await
    }

    async fn read(
        &self,
        request: Request<rpc::ReadRequest>,
    ) -> Result<Response<rpc::ReadResponse>, Status> {
        let req = request.into_inner();
        let resource = self.resource(&req.r#type, &req.urn)?;
        let ctx = self.ctx(&req.urn, name_from_urn(&req.urn), 0.0);
        let result = match resource
            .read(ctx, req.id.clone(), props(req.properties.as_ref()))
            .await
        {
            Ok(Some((outputs, inputs))) => {
                // Keep the user's inputs as they were where the engine sent them.
                let inputs = match req.inputs.as_ref() {
                    Some(old) if !old.fields.is_empty() => props(Some(old)),
                    _ => inputs,
                };
                Ok(rpc::ReadResponse {
                    id: req.id,
                    properties: Some(to_struct(&outputs)),
                    inputs: Some(to_struct(&inputs)),
                    ..Default::default()
                })
            }
            Ok(None) => Ok(rpc::ReadResponse::default()),
            Err(e) => Err(Status::unknown(format!(
                "{} \"{}\": read failed: {e}",
                resource.token(),
                name_from_urn(&req.urn)
            ))),
        };
        self.finish(result).await
    }

    async fn update(
        &self,
        request: Request<rpc::UpdateRequest>,
    ) -> Result<Response<rpc::UpdateResponse>, Status> {
        let req = request.into_inner();
        let resource = self.resource(&req.r#type, &req.urn)?;
        let ctx = self.ctx(&req.urn, name_from_urn(&req.urn), req.timeout);
        let news = props(req.news.as_ref());
        let result = resource
            .update(
                ctx,
                req.id,
                props(req.olds.as_ref()),
                news.clone(),
                req.preview,
            )
            .await
            .map(|outputs| rpc::UpdateResponse {
                properties: Some(to_struct(&outputs)),
                ..Default::default()
            })
            .map_err(|f| op_status(resource.token(), &req.urn, "update", f, &news));
        self.finish(result).await
    }

    async fn delete(&self, request: Request<rpc::DeleteRequest>) -> Result<Response<()>, Status> {
        let req = request.into_inner();
        let resource = self.resource(&req.r#type, &req.urn)?;
        let ctx = self.ctx(&req.urn, name_from_urn(&req.urn), req.timeout);
        let result = resource
            .delete(ctx, req.id, props(req.properties.as_ref()))
            .await
            .map_err(|e| {
                Status::unknown(format!(
                    "{} \"{}\": delete failed: {e}",
                    resource.token(),
                    name_from_urn(&req.urn)
                ))
            });
        self.finish(result).await
    }

    async fn construct(
        &self,
        _request: Request<rpc::ConstructRequest>,
    ) -> Result<Response<rpc::ConstructResponse>, Status> {
        Err(Status::unimplemented(format!(
            "{} has no component resources",
            self.info.name
        )))
    }

    async fn cancel(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        self.cancel.cancel();
        self.logger.flush().await;
        Ok(Response::new(()))
    }

    async fn get_plugin_info(
        &self,
        _request: Request<()>,
    ) -> Result<Response<rpc::PluginInfo>, Status> {
        Ok(Response::new(rpc::PluginInfo {
            version: self.info.version.to_string(),
        }))
    }

    async fn attach(&self, request: Request<rpc::PluginAttach>) -> Result<Response<()>, Status> {
        self.logger.connect(&request.get_ref().address);
        Ok(Response::new(()))
    }

    async fn get_mapping(
        &self,
        _request: Request<rpc::GetMappingRequest>,
    ) -> Result<Response<rpc::GetMappingResponse>, Status> {
        Err(Status::unimplemented(format!(
            "{} has no mappings",
            self.info.name
        )))
    }

    async fn get_mappings(
        &self,
        _request: Request<rpc::GetMappingsRequest>,
    ) -> Result<Response<rpc::GetMappingsResponse>, Status> {
        Err(Status::unimplemented(format!(
            "{} has no mappings",
            self.info.name
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Change;

    /// Two input properties, as the Image resource has them.
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct SampleArgs {
        context: String,
        tags: Vec<String>,
    }

    #[test]
    fn input_diff_is_set_only_for_paths_under_input_properties() {
        let inputs = object_shape_of::<SampleArgs>();
        let outcome = DiffOutcome {
            changes: vec![
                Change::update("context[\"src/app.ts\"]"),
                Change::update("baseImageDigests[\"base:1\"]"),
                Change::replace("tags"),
            ],
            delete_before_replace: false,
            reasons: Vec::new(),
        };
        let response = diff_response(&outcome, &inputs);
        let detail = |p: &str| response.detailed_diff.get(p).copied().expect(p);
        assert!(detail("context[\"src/app.ts\"]").input_diff);
        assert!(!detail("baseImageDigests[\"base:1\"]").input_diff);
        assert_eq!(response.replaces, vec!["tags".to_string()]);
        let mut diffs = response.diffs.clone();
        diffs.sort();
        assert_eq!(diffs, vec!["baseImageDigests", "context", "tags"]);
    }
}
