//! Check and CheckConfig requests nested past protobuf's decoding limit
//! answer with a CheckFailure on the property, not an INTERNAL decode error.
//!
//! The generated gRPC service decodes a request before any of our code
//! runs, and protobuf refuses values nested deeper than its recursion limit
//! (about 48 levels of lists and objects in a `Struct`) with an error that
//! names no property. This wrapper sits in front of the service for the two
//! RPCs whose inputs a user writes: when their message does not decode, it
//! reads the inputs' nesting from the bytes ([`crate::wire::depth`]) and,
//! if they are too deep, answers the Check itself with the same failure the
//! validation gives for 33 to 48 levels. Every other request, and every
//! Check that decodes, passes through untouched.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use prost::Message;
use pulumi_gestalt_proto::pulumi::pulumirpc as rpc;
use tonic::body::Body;
use tonic::codegen::{http, BoxFuture, Service};
use tonic::server::NamedService;

use crate::wire::depth::{message_field, struct_nested_deeper_than};
use crate::wire::value::MAX_DEPTH;

/// The RPCs whose `news` (field 3 of `CheckRequest`) a user writes.
const GUARDED: [&str; 2] = [
    "/pulumirpc.ResourceProvider/Check",
    "/pulumirpc.ResourceProvider/CheckConfig",
];
const NEWS_FIELD: u64 = 3;

/// The service `S`, with Check and CheckConfig guarded.
#[derive(Clone)]
pub struct DepthGuard<S> {
    inner: S,
}

impl<S> DepthGuard<S> {
    /// Wraps the generated service.
    pub fn new(inner: S) -> Self {
        DepthGuard { inner }
    }
}

impl<S: NamedService> NamedService for DepthGuard<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for DepthGuard<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was made ready serves this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !GUARDED.contains(&request.uri().path()) {
            return Box::pin(inner.call(request));
        }
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(status) => return Ok(status.into_http()),
            };
            if let Some(answer) = too_deep_answer(&bytes) {
                return Ok(answer);
            }
            let request = http::Request::from_parts(parts, Body::new(Full::new(bytes)));
            inner.call(request).await
        })
    }
}

/// The CheckFailure answer for a framed request whose message protobuf
/// refuses and whose inputs nest past [`MAX_DEPTH`]; `None` otherwise.
fn too_deep_answer(framed: &[u8]) -> Option<http::Response<Body>> {
    // A gRPC frame: compressed flag, 4-byte length, message.
    let (&compressed, rest) = framed.split_first()?;
    let length = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let message = rest.get(4..4 + length)?;
    if compressed != 0 || rpc::CheckRequest::decode(message).is_ok() {
        return None;
    }
    let news = message_field(message, NEWS_FIELD)?;
    let at = struct_nested_deeper_than(news, MAX_DEPTH)?;
    let response = rpc::CheckResponse {
        inputs: None,
        failures: vec![rpc::CheckFailure {
            property: at.to_string(),
            reason: format!(
                "nested more than {MAX_DEPTH} levels deep; no input of this provider is"
            ),
        }],
    };
    Some(grpc_ok(&response.encode_to_vec()))
}

/// A successful unary gRPC response carrying `message`.
fn grpc_ok(message: &[u8]) -> http::Response<Body> {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    framed.extend_from_slice(message);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames = [
        Ok::<_, Infallible>(Frame::data(Bytes::from(framed))),
        Ok(Frame::trailers(trailers)),
    ];
    let body = StreamBody::new(tokio_stream::iter(frames));
    let mut response = http::Response::new(Body::new(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}
