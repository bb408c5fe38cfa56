//! One-shot HTTP/1.1 exchanges over loopback, enough to talk to moto.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Sends `req` on a fresh connection to `authority` (`127.0.0.1:PORT`) and
/// collects the whole response.
pub(crate) async fn exchange(
    authority: &str,
    req: Request<Full<Bytes>>,
) -> Result<Response<Bytes>, String> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {authority}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request to {authority}: {e}"))?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("response body from {authority}: {e}"))?
        .to_bytes();
    Ok(Response::from_parts(parts, body))
}

/// `127.0.0.1:PORT` from `http://127.0.0.1:PORT[/]`.
pub(crate) fn authority(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}
