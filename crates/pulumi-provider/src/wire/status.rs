//! gRPC errors the engine understands, including partial failures.

use prost::Message;
use pulumi_gestalt_proto::pulumi::pulumirpc::ErrorResourceInitFailed;
use std::collections::BTreeMap;

use super::value::{to_struct, Value};

/// `google.rpc.Status`, the payload of `grpc-status-details-bin`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

const INIT_FAILED_TYPE: &str = "type.googleapis.com/pulumirpc.ErrorResourceInitFailed";

/// The resource was created or updated but is not healthy: the engine
/// records `id` and `outputs`, fails the step and retries on the next up.
pub fn init_failed(
    message: &str,
    id: &str,
    outputs: &BTreeMap<String, Value>,
    inputs: &BTreeMap<String, Value>,
    reasons: Vec<String>,
) -> tonic::Status {
    let detail = ErrorResourceInitFailed {
        id: id.to_string(),
        properties: Some(to_struct(outputs)),
        reasons,
        inputs: Some(to_struct(inputs)),
        ..Default::default()
    };
    let status = RpcStatus {
        code: tonic::Code::Unknown as i32,
        message: message.to_string(),
        details: vec![prost_types::Any {
            type_url: INIT_FAILED_TYPE.to_string(),
            value: detail.encode_to_vec(),
        }],
    };
    tonic::Status::with_details(
        tonic::Code::Unknown,
        message.to_string(),
        status.encode_to_vec().into(),
    )
}

/// Reads a partial failure back out of a status (for tests and clients).
pub fn parse_init_failed(status: &tonic::Status) -> Option<ErrorResourceInitFailed> {
    let decoded = RpcStatus::decode(status.details()).ok()?;
    decoded
        .details
        .iter()
        .find(|any| any.type_url == INIT_FAILED_TYPE)
        .and_then(|any| ErrorResourceInitFailed::decode(any.value.as_slice()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_failure_round_trips_through_status_details() {
        let mut outputs = BTreeMap::new();
        outputs.insert("arn".to_string(), Value::String("arn:x".into()));
        let status = init_failed(
            "rollout failed",
            "svc-1",
            &outputs,
            &BTreeMap::new(),
            vec!["rolled back".into()],
        );
        let parsed = parse_init_failed(&status).expect("details present");
        assert_eq!(parsed.id, "svc-1");
        assert_eq!(parsed.reasons, vec!["rolled back".to_string()]);
        let props = Value::from_opt_struct(parsed.properties.as_ref());
        assert_eq!(props.get("arn"), Some(&Value::String("arn:x".into())));
        assert_eq!(status.message(), "rollout failed");
    }
}
