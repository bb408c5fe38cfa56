//! A VPC, subnet and security group in moto's EC2, which moto's ECS demands
//! for `awsvpc` services. Plain EC2 Query API calls, so tests need no EC2 SDK.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use super::http::{authority, exchange};

/// IDs of the network created in moto.
#[derive(Debug, Clone)]
pub struct MotoNetwork {
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkSetupError {
    #[error("EC2 {action} against moto failed: {message}")]
    Call { action: String, message: String },
    #[error("EC2 {action} answer has no <{tag}>: {body}")]
    Answer {
        action: String,
        tag: String,
        body: String,
    },
}

/// Creates a VPC (10.0.0.0/16), a subnet (10.0.1.0/24) and a security group
/// in `region` of the moto server at `endpoint` (`http://127.0.0.1:PORT`).
pub async fn create_network(
    endpoint: &str,
    region: &str,
) -> Result<MotoNetwork, NetworkSetupError> {
    let vpc_id = call(
        endpoint,
        region,
        "CreateVpc",
        &[("CidrBlock", "10.0.0.0/16")],
        "vpcId",
    )
    .await?;
    // RunTask in an awsvpc subnet needs it in moto (the task's ENI gets a
    // private DNS name only then), as it does in a real VPC.
    call(
        endpoint,
        region,
        "ModifyVpcAttribute",
        &[("VpcId", &vpc_id), ("EnableDnsHostnames.Value", "true")],
        "requestId",
    )
    .await?;
    let subnet_id = call(
        endpoint,
        region,
        "CreateSubnet",
        &[("VpcId", &vpc_id), ("CidrBlock", "10.0.1.0/24")],
        "subnetId",
    )
    .await?;
    let security_group_id = call(
        endpoint,
        region,
        "CreateSecurityGroup",
        &[
            ("VpcId", &vpc_id),
            ("GroupName", "imagedeploy-test"),
            ("GroupDescription", "imagedeploy test tasks"),
        ],
        "groupId",
    )
    .await?;
    Ok(MotoNetwork {
        vpc_id,
        subnet_id,
        security_group_id,
    })
}

async fn call(
    endpoint: &str,
    region: &str,
    action: &str,
    params: &[(&str, &str)],
    tag: &str,
) -> Result<String, NetworkSetupError> {
    let mut body = format!("Action={action}&Version=2016-11-15");
    for (k, v) in params {
        body.push('&');
        body.push_str(k);
        body.push('=');
        body.push_str(&encode(v));
    }
    let host = authority(endpoint);
    let fail = |message: String| NetworkSetupError::Call {
        action: action.to_string(),
        message,
    };
    // A server that has just started listening can still drop a connection
    // on a loaded machine: transport errors are retried a few times (at
    // worst a second VPC is made; the answer's ids are the ones used).
    let mut attempt = 0;
    let resp = loop {
        attempt += 1;
        let req = Request::post("/")
            .header("host", &host)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=test/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0"),
            )
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| fail(e.to_string()))?;
        match exchange(&host, req).await {
            Ok(resp) => break resp,
            Err(e) if attempt >= 5 => return Err(fail(e)),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await,
        }
    };
    let text = String::from_utf8_lossy(resp.body()).to_string();
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}: {text}", resp.status())));
    }
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    text.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map(|(v, _)| v.trim().to_string())
        .ok_or_else(|| NetworkSetupError::Answer {
            action: action.to_string(),
            tag: tag.to_string(),
            body: text.chars().take(500).collect(),
        })
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
