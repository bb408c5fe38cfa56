//! The gRPC ResourceProvider service: request plumbing only.
//!
//! Each resource RPC goes through [`Provider::call`], the one place that
//! finds the resource type, builds its context, runs it inside a `tracing`
//! span carrying the URN (so every log line below lands on the resource),
//! names the resource in errors and flushes the log before answering.
//! Conversions to and from protobuf live in `answer`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

use pulumi_gestalt_proto::pulumi::pulumirpc as rpc;
use rpc::resource_provider_server::ResourceProvider;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::dispatch::{self, ErasedResource, OpFailure, PropertyMap};
use crate::log::EngineLog;
use crate::resource::{AppContext, AutonamingMode, Change, Ctx, DiffOutcome, Failure};
use crate::schema::secrets::secret_values;
use crate::schema::typed::{decode, from_json, to_json};
use crate::schema::{object_shape_of, validate, ObjectShape};
use crate::wire::value::{to_struct, Value};
use imagedeploy_redact::Redactor;

mod answer;
mod depth_guard;

pub use depth_guard::DepthGuard;

use answer::{diff_response, failures_to_rpc, name_from_urn, op_status, props, type_from_urn};

/// The package's name, version and schema.
#[derive(Clone, Copy)]
pub struct ProviderInfo {
    /// Package name, used in messages (`imagedeploy has no function ...`).
    pub name: &'static str,
    /// Plugin version.
    pub version: &'static str,
    /// The package schema, as GetSchema serves it.
    pub schema: fn() -> String,
}

/// The ResourceProvider service over a set of resource types.
pub struct Provider<C: AppContext> {
    info: ProviderInfo,
    resources: BTreeMap<&'static str, Arc<dyn ErasedResource<C>>>,
    config_shape: Arc<ObjectShape>,
    context: RwLock<Arc<C>>,
    log: EngineLog,
    cancel: CancellationToken,
}

/// Which resource an RPC is about, and how it names itself in errors.
struct Call<'a> {
    verb: &'static str,
    type_token: &'a str,
    urn: &'a str,
    name: &'a str,
    timeout_seconds: f64,
    /// Input maps of the request, whose secret values are masked in
    /// everything the call says (failures, reasons, errors, log lines).
    inputs: Vec<&'a PropertyMap>,
    /// Recorded state maps of the request, likewise.
    states: Vec<&'a PropertyMap>,
}

impl<'a> Call<'a> {
    fn new(verb: &'static str, type_token: &'a str, urn: &'a str) -> Self {
        Call {
            verb,
            type_token,
            urn,
            name: name_from_urn(urn),
            timeout_seconds: 0.0,
            inputs: Vec::new(),
            states: Vec::new(),
        }
    }
}

impl<C: AppContext> Provider<C> {
    /// A provider serving `resources`; `log` receives every message.
    pub fn new(
        info: ProviderInfo,
        resources: Vec<Arc<dyn ErasedResource<C>>>,
        log: EngineLog,
        cancel: CancellationToken,
    ) -> Self {
        Provider {
            info,
            resources: resources.into_iter().map(|r| (r.token(), r)).collect(),
            config_shape: object_shape_of::<C::Config>(),
            context: RwLock::new(Arc::new(C::default())),
            log,
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

    /// What every resource RPC repeats: find the resource, build its
    /// context, run `op` inside a span carrying the URN, name the resource
    /// in errors (`inputs` are recorded with a partial failure), and flush
    /// the log before answering.
    async fn call<T, F, Fut>(
        &self,
        call: Call<'_>,
        inputs: &PropertyMap,
        op: F,
    ) -> Result<Response<T>, Status>
    where
        F: FnOnce(Arc<dyn ErasedResource<C>>, Ctx<C>) -> Fut,
        Fut: Future<Output = Result<T, OpFailure>>,
    {
        let resource = self.resource(call.type_token, call.urn)?;
        let provider = self.context.read().map(|c| c.clone()).unwrap_or_default();
        let mut ctx = Ctx::new(call.urn, call.name, self.cancel.child_token(), provider);
        ctx.timeout_seconds = call.timeout_seconds;
        let mut secrets = Redactor::default();
        let input_shape = resource.input_shape();
        for map in &call.inputs {
            secrets.extend(&secret_values(map, &input_shape));
        }
        let output_shape = resource.schema().outputs;
        for map in &call.states {
            secrets.extend(&secret_values(map, &output_shape));
        }
        let secrets = Arc::new(secrets);
        ctx.secrets = secrets.clone();
        let span = tracing::info_span!("resource", urn = call.urn, op = call.verb);
        let token = resource.token();
        let result = crate::log::masking(secrets.clone(), op(resource, ctx).instrument(span))
            .await
            .map_err(|failure| {
                op_status(
                    token,
                    call.urn,
                    call.verb,
                    failure.redacted(&secrets),
                    inputs,
                )
            });
        self.log.flush().await;
        result.map(Response::new)
    }

    /// Decodes provider configuration, accepting JSON-encoded strings; the
    /// failures never show a secret value of `map`.
    fn decode_config(&self, mut map: PropertyMap) -> (Option<C::Config>, Vec<Failure>) {
        map.remove("version");
        map.remove("pluginDownloadURL");
        validate::coerce_json_strings(&mut map, &self.config_shape);
        let secrets = secret_values(&map, &self.config_shape);
        let (config, mut failures) = self.decode_config_unmasked(map);
        for failure in &mut failures {
            failure.reason = secrets.redact(&failure.reason);
        }
        (config, failures)
    }

    fn decode_config_unmasked(&self, map: PropertyMap) -> (Option<C::Config>, Vec<Failure>) {
        let mut failures = validate::validate(&map, &self.config_shape);
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
}

#[tonic::async_trait]
impl<C: AppContext> ResourceProvider for Provider<C> {
    async fn handshake(
        &self,
        request: Request<rpc::ProviderHandshakeRequest>,
    ) -> Result<Response<rpc::ProviderHandshakeResponse>, Status> {
        self.log.connect(&request.get_ref().engine_address);
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
                let mut change = Change::update(name.clone());
                change.replace = C::replacing_keys().contains(&name.as_str());
                outcome.changes.push(change);
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
        let mut call = Call::new("check", &req.r#type, &req.urn);
        if !req.name.is_empty() {
            call.name = &req.name;
        }
        let news = props(req.news.as_ref());
        let olds = req.olds.as_ref().map(|s| props(Some(s)));
        call.inputs = vec![&news];
        call.inputs.extend(olds.as_ref());
        let check = dispatch::CheckRequest {
            olds: olds.clone(),
            news: news.clone(),
            random_seed: req.random_seed.clone(),
            proposed_name: req
                .autonaming
                .as_ref()
                .filter(|a| !a.proposed_name.is_empty())
                .map(|a| a.proposed_name.clone()),
            autonaming: AutonamingMode::from_wire(req.autonaming.as_ref().map(|a| a.mode)),
        };
        self.call(call, &news, |resource, ctx| async move {
            let (inputs, failures) = resource.check(ctx, check).await;
            Ok(rpc::CheckResponse {
                inputs: Some(to_struct(&inputs)),
                failures: failures_to_rpc(failures),
            })
        })
        .await
    }

    async fn diff(
        &self,
        request: Request<rpc::DiffRequest>,
    ) -> Result<Response<rpc::DiffResponse>, Status> {
        let req = request.into_inner();
        let mut call = Call::new("diff", &req.r#type, &req.urn);
        let diff = dispatch::DiffRequest {
            id: req.id.clone(),
            olds: props(req.olds.as_ref()),
            old_inputs: req.old_inputs.as_ref().map(|s| props(Some(s))),
            news: props(req.news.as_ref()),
            ignore_changes: req.ignore_changes.clone(),
        };
        let (olds, old_inputs, news) = (
            diff.olds.clone(),
            diff.old_inputs.clone(),
            diff.news.clone(),
        );
        call.inputs = vec![&news];
        call.inputs.extend(old_inputs.as_ref());
        call.states = vec![&olds];
        self.call(call, &PropertyMap::new(), |resource, ctx| async move {
            let outcome = resource.diff(ctx.clone(), diff).await?;
            for reason in &outcome.reasons {
                ctx.info(&reason.text);
            }
            Ok(diff_response(&outcome, &resource.input_shape()))
        })
        .await
    }

    async fn create(
        &self,
        request: Request<rpc::CreateRequest>,
    ) -> Result<Response<rpc::CreateResponse>, Status> {
        let req = request.into_inner();
        let mut call = Call::new("create", &req.r#type, &req.urn);
        call.timeout_seconds = req.timeout;
        let news = props(req.properties.as_ref());
        call.inputs = vec![&news];
        let create = dispatch::CreateRequest {
            news: news.clone(),
            preview: req.preview,
        };
        self.call(call, &news, |resource, ctx| async move {
            let (id, outputs) = resource.create(ctx, create).await?;
            Ok(rpc::CreateResponse {
                id,
                properties: Some(to_struct(&outputs)),
                ..Default::default()
            })
        })
        .await
    }

    async fn read(
        &self,
        request: Request<rpc::ReadRequest>,
    ) -> Result<Response<rpc::ReadResponse>, Status> {
        let req = request.into_inner();
        let mut call = Call::new("read", &req.r#type, &req.urn);
        let read = dispatch::ReadRequest {
            id: req.id.clone(),
            state: props(req.properties.as_ref()),
        };
        let (state, recorded_inputs) = (read.state.clone(), props(req.inputs.as_ref()));
        call.states = vec![&state];
        call.inputs = vec![&recorded_inputs];
        let old_inputs = req.inputs.as_ref().filter(|old| !old.fields.is_empty());
        self.call(call, &PropertyMap::new(), |resource, ctx| async move {
            let Some((outputs, inputs)) = resource.read(ctx, read).await? else {
                return Ok(rpc::ReadResponse::default());
            };
            // Keep the user's inputs as they were where the engine sent them.
            let inputs = old_inputs.map_or(inputs, |old| props(Some(old)));
            Ok(rpc::ReadResponse {
                id: req.id.clone(),
                properties: Some(to_struct(&outputs)),
                inputs: Some(to_struct(&inputs)),
                ..Default::default()
            })
        })
        .await
    }

    async fn update(
        &self,
        request: Request<rpc::UpdateRequest>,
    ) -> Result<Response<rpc::UpdateResponse>, Status> {
        let req = request.into_inner();
        let mut call = Call::new("update", &req.r#type, &req.urn);
        call.timeout_seconds = req.timeout;
        let news = props(req.news.as_ref());
        let olds = props(req.olds.as_ref());
        call.inputs = vec![&news];
        call.states = vec![&olds];
        let update = dispatch::UpdateRequest {
            id: req.id.clone(),
            olds: olds.clone(),
            news: news.clone(),
            preview: req.preview,
        };
        self.call(call, &news, |resource, ctx| async move {
            let outputs = resource.update(ctx, update).await?;
            Ok(rpc::UpdateResponse {
                properties: Some(to_struct(&outputs)),
                ..Default::default()
            })
        })
        .await
    }

    async fn delete(&self, request: Request<rpc::DeleteRequest>) -> Result<Response<()>, Status> {
        let req = request.into_inner();
        let mut call = Call::new("delete", &req.r#type, &req.urn);
        call.timeout_seconds = req.timeout;
        let delete = dispatch::DeleteRequest {
            id: req.id.clone(),
            state: props(req.properties.as_ref()),
        };
        let state = delete.state.clone();
        call.states = vec![&state];
        self.call(call, &PropertyMap::new(), |resource, ctx| async move {
            resource.delete(ctx, delete).await
        })
        .await
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
        self.log.flush().await;
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
        self.log.connect(&request.get_ref().address);
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
