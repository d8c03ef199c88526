//! The AWS SDK's HTTP client over reqwest (rustls, HTTP/1.1): the same client stack S3 and
//! the providers use, instead of the SDK's default HTTPS client, which linked a second hyper
//! client, `hyper-rustls` and HTTP/2 (`h2`) into every function.
//!
//! The SDK keeps everything above the wire: signing, retries (its standard mode retries the
//! `io` and `timeout` connector errors returned here), the call-accounting interceptor.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The SDK's default connect timeout (`BehaviorVersion` 2023-11-09 onwards), used when the
/// settings name none.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// A reqwest client with `connect_timeout`: the one S3 and the SDK share. Only a TLS backend
/// that fails to load makes the build fail; every call then answers that error.
pub type AwsHttp = Result<reqwest::Client, String>;

/// Redirects are answered to the SDK (or the S3 adapter) as they came, as the SDK's own
/// client does: a signed request must not be sent on to another host, and S3's region
/// redirects are errors to report, not hops to follow. No proxy from the environment either.
pub fn reqwest_client(connect_timeout: Duration) -> AwsHttp {
    super::tls::client_builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| format!("building the AWS HTTP client failed: {e}"))
}

/// The SDK's [`HttpClient`]: one reqwest client per connect timeout asked for (in practice
/// one), so every SDK client of an instance shares its connection pool.
#[derive(Debug)]
pub struct ReqwestHttpClient {
    /// Clients by connect timeout; the first is the one given to [`ReqwestHttpClient::new`].
    clients: Mutex<Vec<(Duration, AwsHttp)>>,
}

impl ReqwestHttpClient {
    pub fn shared(base: AwsHttp) -> SharedHttpClient {
        SharedHttpClient::new(ReqwestHttpClient {
            clients: Mutex::new(vec![(DEFAULT_CONNECT_TIMEOUT, base)]),
        })
    }

    fn client(&self, connect_timeout: Duration) -> AwsHttp {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, c)) = clients.iter().find(|(t, _)| *t == connect_timeout) {
            return c.clone();
        }
        let client = reqwest_client(connect_timeout);
        clients.push((connect_timeout, client.clone()));
        client
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            client: self.client(
                settings
                    .connect_timeout()
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            ),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct Connector {
    client: AwsHttp,
    /// As the SDK's own client applies it: from the request sent until the answer's headers.
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|e| ConnectorError::other(e.into(), None))?;
            let request = to_reqwest(&client, request)?;
            let sent = client.execute(request);
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, sent)
                    .await
                    .map_err(|e| ConnectorError::timeout(e.into()))?,
                None => sent.await,
            }
            .map_err(connector_error)?;
            from_reqwest(response).await
        })
    }
}

fn to_reqwest(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<reqwest::Request, ConnectorError> {
    let method = reqwest::Method::from_bytes(request.method().as_bytes())
        .map_err(|e| ConnectorError::user(e.into()))?;
    let mut builder = client.request(method, request.uri());
    for (name, value) in request.headers().iter() {
        builder = builder.header(name, value);
    }
    // DynamoDB, SQS and Secrets Manager send JSON held in memory; a streaming body (which
    // none of their operations has) is refused rather than sent empty.
    let body = request
        .body()
        .bytes()
        .ok_or_else(|| ConnectorError::user("a streaming request body is not supported".into()))?;
    builder
        .body(body.to_vec())
        .build()
        .map_err(|e| ConnectorError::user(e.into()))
}

async fn from_reqwest(response: reqwest::Response) -> Result<Response<SdkBody>, ConnectorError> {
    let status = StatusCode::try_from(response.status().as_u16())
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(connector_error)?;
    let mut out = Response::new(status, SdkBody::from(body));
    for (name, value) in &headers {
        // A header that is not text is not one the SDK reads.
        if let Ok(value) = value.to_str() {
            let _ = out
                .headers_mut()
                .try_append(name.as_str().to_string(), value.to_string());
        }
    }
    Ok(out)
}

/// Timeouts and failures in transit are what the SDK's retry strategy retries.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
