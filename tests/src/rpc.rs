//! Provider calls that are recorded as they are made.
//!
//! Tests assert on the exact conversation ("Check got the old inputs", "no
//! Delete during preview"), so every request and its answer is kept as JSON in
//! call order. Partial failures (`ErrorResourceInitFailed` in the status
//! details) are decoded here, because the engine treats them unlike other errors.

use std::time::Duration;

use prost::Message;
use pulumi_gestalt_proto::pulumi::pulumirpc::resource_provider_client::ResourceProviderClient;
use pulumi_gestalt_proto::pulumi::pulumirpc::{
    CheckRequest, CheckResponse, ConfigureRequest, ConfigureResponse, CreateRequest,
    CreateResponse, DeleteRequest, DiffRequest, DiffResponse, ErrorResourceInitFailed,
    GetSchemaRequest, ProviderHandshakeRequest, ProviderHandshakeResponse, ReadRequest,
    ReadResponse, UpdateRequest, UpdateResponse,
};
use serde::Serialize;
use serde_json::{json, Value as Json};
use tonic::transport::Channel;

use crate::values::{from_opt_struct, to_struct};

/// The type URL the engine looks for in a failed Create/Update/Read.
pub const INIT_FAILED_TYPE_URL: &str = "type.googleapis.com/pulumirpc.ErrorResourceInitFailed";

/// One recorded call.
#[derive(Debug, Clone, Serialize)]
pub struct Rpc {
    /// `Check`, `Diff`, `Create`, ... (the RPC's proto name).
    pub method: &'static str,
    pub urn: String,
    pub request: Json,
    /// The answer as JSON, or the error text.
    pub response: Result<Json, String>,
    /// When the call started, in the run's order of calls (calls of
    /// resources that run at the same time interleave).
    pub seq: u64,
}

impl Rpc {
    /// Shorthand for `request[key]`.
    pub fn req(&self, key: &str) -> &Json {
        self.request.get(key).unwrap_or(&Json::Null)
    }
}

/// A failed provider call.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The resource exists but is unhealthy: the engine records id + outputs.
    InitFailed {
        id: String,
        properties: Json,
        inputs: Option<Json>,
        reasons: Vec<String>,
        message: String,
    },
    /// Any other gRPC error.
    Status { code: tonic::Code, message: String },
    /// No answer within the harness's time limit.
    Timeout(Duration),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::InitFailed {
                reasons, message, ..
            } => write!(
                f,
                "resource initialization failed: {message} (reasons: {})",
                reasons.join("; ")
            ),
            CallError::Status { code, message } => write!(f, "{code:?}: {message}"),
            CallError::Timeout(d) => write!(f, "no answer within {d:?}"),
        }
    }
}

/// `google.rpc.Status`, the payload of `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// Decodes a tonic status into the engine's view of it.
pub fn classify(status: &tonic::Status) -> CallError {
    let details = status.details();
    if !details.is_empty() {
        if let Ok(rpc_status) = RpcStatus::decode(details) {
            for any in &rpc_status.details {
                if any.type_url == INIT_FAILED_TYPE_URL {
                    if let Ok(e) = ErrorResourceInitFailed::decode(any.value.as_slice()) {
                        return CallError::InitFailed {
                            id: e.id,
                            properties: from_opt_struct(e.properties.as_ref()),
                            inputs: e.inputs.as_ref().map(crate::values::from_struct),
                            reasons: e.reasons,
                            message: status.message().to_string(),
                        };
                    }
                }
            }
        }
    }
    CallError::Status {
        code: status.code(),
        message: status.message().to_string(),
    }
}

/// A provider client that records every call.
/// The stack's `pulumi:autonaming` configuration as the engine applies it to
/// each Check (`AutonamingForResource` in pkg/resource/autonaming/strategy.go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Autonamer {
    /// `verbatim`: the resource's own name, enforced.
    Verbatim,
    /// `disabled`: no automatic names at all.
    Disabled,
    /// A pattern that expanded to this text; `enforce` or propose.
    Pattern { proposed: String, enforce: bool },
}

impl Autonamer {
    /// The `autonaming` field of a CheckRequest for the resource `name`.
    pub fn options(
        &self,
        name: &str,
    ) -> pulumi_gestalt_proto::pulumi::pulumirpc::check_request::AutonamingOptions {
        use pulumi_gestalt_proto::pulumi::pulumirpc::check_request::{
            autonaming_options::Mode, AutonamingOptions,
        };
        let (proposed_name, mode) = match self {
            Autonamer::Verbatim => (name.to_string(), Mode::Enforce),
            Autonamer::Disabled => (String::new(), Mode::Disable),
            Autonamer::Pattern { proposed, enforce } => (
                proposed.clone(),
                if *enforce {
                    Mode::Enforce
                } else {
                    Mode::Propose
                },
            ),
        };
        AutonamingOptions {
            proposed_name,
            mode: mode as i32,
        }
    }
}

pub struct Calls {
    client: ResourceProviderClient<Channel>,
    timeout: Duration,
    pub log: Vec<Rpc>,
    /// The stack's autonaming configuration (`None`: the engine's default,
    /// which sends no options).
    pub autonamer: Option<Autonamer>,
    /// Numbers calls in the order they start, across forks.
    seq: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

macro_rules! call {
    ($self:ident, $method:literal, $urn:expr, $req_json:expr, $fut:expr, $resp_json:expr) => {{
        let request = $req_json;
        let seq = $self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = match tokio::time::timeout($self.timeout, $fut).await {
            Ok(Ok(resp)) => Ok(resp.into_inner()),
            Ok(Err(status)) => Err(classify(&status)),
            Err(_) => Err(CallError::Timeout($self.timeout)),
        };
        let response = match &result {
            Ok(r) => Ok(($resp_json)(r)),
            Err(e) => Err(e.to_string()),
        };
        $self.log.push(Rpc {
            method: $method,
            urn: $urn.to_string(),
            request,
            response,
            seq,
        });
        result
    }};
}

fn seed_hex(seed: &[u8]) -> Json {
    Json::String(hex::encode(seed))
}

fn diff_json(r: &DiffResponse) -> Json {
    let mut detailed: Vec<(String, Json)> = r
        .detailed_diff
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!({"kind": crate::report::kind_name(v.kind), "inputDiff": v.input_diff}),
            )
        })
        .collect();
    detailed.sort_by(|a, b| a.0.cmp(&b.0));
    json!({
        "changes": r.changes,
        "replaces": r.replaces,
        "stables": r.stables,
        "deleteBeforeReplace": r.delete_before_replace,
        "diffs": r.diffs,
        "detailedDiff": detailed.into_iter().collect::<serde_json::Map<_, _>>(),
        "hasDetailedDiff": r.has_detailed_diff,
    })
}

impl Calls {
    pub fn new(client: ResourceProviderClient<Channel>, timeout: Duration) -> Self {
        Calls {
            client,
            timeout,
            log: Vec::new(),
            autonamer: None,
            seq: Default::default(),
        }
    }

    /// Calls on the same connection with a log of their own, numbered in
    /// one sequence with these (merge the logs and sort by `seq`).
    pub fn fork(&self) -> Calls {
        Calls {
            client: self.client.clone(),
            timeout: self.timeout,
            log: Vec::new(),
            autonamer: self.autonamer.clone(),
            seq: self.seq.clone(),
        }
    }

    pub async fn handshake(
        &mut self,
        req: ProviderHandshakeRequest,
    ) -> Result<ProviderHandshakeResponse, CallError> {
        let mut c = self.client.clone();
        call!(
            self,
            "Handshake",
            "",
            json!({"engineAddress": req.engine_address, "configureWithUrn": req.configure_with_urn}),
            c.handshake(req),
            |r: &ProviderHandshakeResponse| json!({
                "acceptSecrets": r.accept_secrets, "acceptResources": r.accept_resources,
                "acceptOutputs": r.accept_outputs,
            })
        )
    }

    pub async fn get_plugin_info(&mut self) -> Result<String, CallError> {
        let mut c = self.client.clone();
        call!(
            self,
            "GetPluginInfo",
            "",
            json!({}),
            c.get_plugin_info(()),
            |r: &pulumi_gestalt_proto::pulumi::pulumirpc::PluginInfo| json!({"version": r.version})
        )
        .map(|r| r.version)
    }

    pub async fn get_schema(&mut self) -> Result<String, CallError> {
        let mut c = self.client.clone();
        call!(
            self,
            "GetSchema",
            "",
            json!({"version": 0}),
            c.get_schema(GetSchemaRequest {
                version: 0,
                ..Default::default()
            }),
            |r: &pulumi_gestalt_proto::pulumi::pulumirpc::GetSchemaResponse| json!({"bytes": r.schema.len()})
        )
        .map(|r| r.schema)
    }

    #[allow(clippy::too_many_arguments)]
    async fn check_like(
        &mut self,
        config: bool,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        seed: &[u8],
    ) -> Result<CheckResponse, CallError> {
        let req = CheckRequest {
            urn: urn.to_string(),
            olds: Some(to_struct(olds)),
            news: Some(to_struct(news)),
            random_seed: seed.to_vec(),
            name: name.to_string(),
            r#type: type_token.to_string(),
            autonaming: if config {
                None
            } else {
                self.autonamer.as_ref().map(|a| a.options(name))
            },
        };
        let req_json = json!({
            "olds": olds, "news": news, "randomSeed": seed_hex(seed), "name": name, "type": type_token,
            "autonaming": req.autonaming.as_ref().map(|a| json!({"proposedName": a.proposed_name, "mode": a.mode})),
        });
        let resp_json = |r: &CheckResponse| {
            json!({
                "inputs": from_opt_struct(r.inputs.as_ref()),
                "failures": r.failures.iter().map(|f| json!({"property": f.property, "reason": f.reason})).collect::<Vec<_>>(),
            })
        };
        let mut c = self.client.clone();
        if config {
            call!(
                self,
                "CheckConfig",
                urn,
                req_json,
                c.check_config(req),
                resp_json
            )
        } else {
            call!(self, "Check", urn, req_json, c.check(req), resp_json)
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn check(
        &mut self,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        seed: &[u8],
    ) -> Result<CheckResponse, CallError> {
        self.check_like(false, urn, name, type_token, olds, news, seed)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn check_config(
        &mut self,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        seed: &[u8],
    ) -> Result<CheckResponse, CallError> {
        self.check_like(true, urn, name, type_token, olds, news, seed)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn diff_like(
        &mut self,
        config: bool,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        old_inputs: &Json,
        ignore_changes: &[String],
    ) -> Result<DiffResponse, CallError> {
        let req = DiffRequest {
            id: id.to_string(),
            urn: urn.to_string(),
            olds: Some(to_struct(olds)),
            news: Some(to_struct(news)),
            ignore_changes: ignore_changes.to_vec(),
            old_inputs: Some(to_struct(old_inputs)),
            name: name.to_string(),
            r#type: type_token.to_string(),
        };
        let req_json = json!({"id": id, "olds": olds, "news": news, "oldInputs": old_inputs, "ignoreChanges": ignore_changes});
        let mut c = self.client.clone();
        if config {
            call!(
                self,
                "DiffConfig",
                urn,
                req_json,
                c.diff_config(req),
                diff_json
            )
        } else {
            call!(self, "Diff", urn, req_json, c.diff(req), diff_json)
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn diff(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        old_inputs: &Json,
        ignore_changes: &[String],
    ) -> Result<DiffResponse, CallError> {
        self.diff_like(
            false,
            id,
            urn,
            name,
            type_token,
            olds,
            news,
            old_inputs,
            ignore_changes,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn diff_config(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        old_inputs: &Json,
    ) -> Result<DiffResponse, CallError> {
        self.diff_like(true, id, urn, name, type_token, olds, news, old_inputs, &[])
            .await
    }

    pub async fn configure(
        &mut self,
        req: ConfigureRequest,
    ) -> Result<ConfigureResponse, CallError> {
        let urn = req.urn.clone().unwrap_or_default();
        let req_json = json!({
            "variables": req.variables.iter().collect::<std::collections::BTreeMap<_, _>>(),
            "args": from_opt_struct(req.args.as_ref()),
            "acceptSecrets": req.accept_secrets,
            "acceptResources": req.accept_resources,
            "sendsOldInputs": req.sends_old_inputs,
            "sendsOldInputsToDelete": req.sends_old_inputs_to_delete,
        });
        let mut c = self.client.clone();
        call!(
            self,
            "Configure",
            urn,
            req_json,
            c.configure(req),
            |r: &ConfigureResponse| json!({
                "acceptSecrets": r.accept_secrets, "supportsPreview": r.supports_preview,
                "acceptResources": r.accept_resources, "acceptOutputs": r.accept_outputs,
            })
        )
    }

    pub async fn create(
        &mut self,
        urn: &str,
        name: &str,
        type_token: &str,
        properties: &Json,
        preview: bool,
    ) -> Result<CreateResponse, CallError> {
        self.create_with_timeout(urn, name, type_token, properties, preview, 0.0)
            .await
    }

    /// Create with the resource's `customTimeouts.create` (seconds, 0: none).
    pub async fn create_with_timeout(
        &mut self,
        urn: &str,
        name: &str,
        type_token: &str,
        properties: &Json,
        preview: bool,
        timeout: f64,
    ) -> Result<CreateResponse, CallError> {
        let req = CreateRequest {
            urn: urn.to_string(),
            properties: Some(to_struct(properties)),
            timeout,
            preview,
            name: name.to_string(),
            r#type: type_token.to_string(),
            ..Default::default()
        };
        let mut c = self.client.clone();
        call!(
            self,
            "Create",
            urn,
            json!({"properties": properties, "preview": preview, "timeout": timeout}),
            c.create(req),
            |r: &CreateResponse| json!({"id": r.id, "properties": from_opt_struct(r.properties.as_ref())})
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn update(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        old_inputs: &Json,
        ignore_changes: &[String],
        preview: bool,
    ) -> Result<UpdateResponse, CallError> {
        self.update_with_timeout(
            id,
            urn,
            name,
            type_token,
            olds,
            news,
            old_inputs,
            ignore_changes,
            preview,
            0.0,
        )
        .await
    }

    /// Update with the resource's `customTimeouts.update` (seconds, 0: none).
    #[allow(clippy::too_many_arguments)]
    pub async fn update_with_timeout(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        olds: &Json,
        news: &Json,
        old_inputs: &Json,
        ignore_changes: &[String],
        preview: bool,
        timeout: f64,
    ) -> Result<UpdateResponse, CallError> {
        let req = UpdateRequest {
            id: id.to_string(),
            urn: urn.to_string(),
            olds: Some(to_struct(olds)),
            news: Some(to_struct(news)),
            timeout,
            ignore_changes: ignore_changes.to_vec(),
            preview,
            old_inputs: Some(to_struct(old_inputs)),
            name: name.to_string(),
            r#type: type_token.to_string(),
            ..Default::default()
        };
        let mut c = self.client.clone();
        call!(
            self,
            "Update",
            urn,
            json!({"id": id, "olds": olds, "news": news, "oldInputs": old_inputs, "preview": preview, "timeout": timeout}),
            c.update(req),
            |r: &UpdateResponse| json!({"properties": from_opt_struct(r.properties.as_ref())})
        )
    }

    pub async fn read(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        properties: &Json,
        inputs: &Json,
    ) -> Result<ReadResponse, CallError> {
        let req = ReadRequest {
            id: id.to_string(),
            urn: urn.to_string(),
            properties: Some(to_struct(properties)),
            inputs: Some(to_struct(inputs)),
            name: name.to_string(),
            r#type: type_token.to_string(),
            ..Default::default()
        };
        let mut c = self.client.clone();
        call!(
            self,
            "Read",
            urn,
            json!({"id": id, "properties": properties, "inputs": inputs}),
            c.read(req),
            |r: &ReadResponse| json!({
                "id": r.id,
                "properties": from_opt_struct(r.properties.as_ref()),
                "inputs": r.inputs.as_ref().map(crate::values::from_struct),
            })
        )
    }

    /// Read with only an id, as an import does (`ImportStep.Apply`): no old
    /// properties, no old inputs.
    pub async fn read_for_import(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
    ) -> Result<ReadResponse, CallError> {
        let req = ReadRequest {
            id: id.to_string(),
            urn: urn.to_string(),
            properties: None,
            inputs: None,
            name: name.to_string(),
            r#type: type_token.to_string(),
            ..Default::default()
        };
        let mut c = self.client.clone();
        call!(
            self,
            "Read",
            urn,
            json!({"id": id, "import": true}),
            c.read(req),
            |r: &ReadResponse| json!({
                "id": r.id,
                "properties": from_opt_struct(r.properties.as_ref()),
                "inputs": r.inputs.as_ref().map(crate::values::from_struct),
            })
        )
    }

    pub async fn delete(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        properties: &Json,
        old_inputs: &Json,
    ) -> Result<(), CallError> {
        self.delete_with_timeout(id, urn, name, type_token, properties, old_inputs, 0.0)
            .await
    }

    /// Delete with the resource's `customTimeouts.delete` (seconds, 0: none).
    #[allow(clippy::too_many_arguments)]
    pub async fn delete_with_timeout(
        &mut self,
        id: &str,
        urn: &str,
        name: &str,
        type_token: &str,
        properties: &Json,
        old_inputs: &Json,
        timeout: f64,
    ) -> Result<(), CallError> {
        let req = DeleteRequest {
            id: id.to_string(),
            urn: urn.to_string(),
            properties: Some(to_struct(properties)),
            timeout,
            old_inputs: Some(to_struct(old_inputs)),
            name: name.to_string(),
            r#type: type_token.to_string(),
            ..Default::default()
        };
        let mut c = self.client.clone();
        call!(
            self,
            "Delete",
            urn,
            json!({"id": id, "properties": properties, "oldInputs": old_inputs, "timeout": timeout}),
            c.delete(req),
            |_r: &()| json!({})
        )
    }
}
