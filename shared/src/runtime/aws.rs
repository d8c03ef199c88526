//! AWS clients, built once per instance. Endpoints come from the standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local stack
//! (DynamoDB Local, moto) is reached; every client carries the call-accounting interceptor.

use crate::adapters::s3::S3;
use crate::runtime::aws_http::{reqwest_client, ReqwestHttpClient, DEFAULT_CONNECT_TIMEOUT};
use crate::runtime::metrics::CallAccounting;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// S3 through `aws-sigv4` and reqwest (`adapters::s3`), not the S3 SDK: its HTTP client
    /// is built on first use, by the functions that store media or exports.
    s3: Arc<S3>,
}

/// Explicit endpoints per service (`None`: the SDK's own for the region).
#[derive(Default)]
struct Endpoints {
    dynamodb: Option<String>,
    sqs: Option<String>,
    secrets: Option<String>,
    s3: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A service's endpoint from the environment, as the SDK's own loader reads it.
fn env_endpoint(service: &str) -> Option<String> {
    env(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| env("AWS_ENDPOINT_URL"))
}

impl AwsClients {
    /// Every credential and region source of the SDK's default chain (profiles, SSO, IMDS…):
    /// what the operator's tools (dev server, admin CLI) use.
    pub async fn from_env() -> Self {
        let http = ReqwestHttpClient::shared(reqwest_client(DEFAULT_CONNECT_TIMEOUT));
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .load()
            .await;
        Self::from_sdk_config(&sdk)
    }

    /// What a Lambda function uses: the region, credentials and endpoints Lambda (or the local
    /// stack) puts in the environment, read without the SDK's default chain, whose profile,
    /// SSO, STS and IMDS providers made up a large part of every function's binary.
    pub fn from_lambda_env() -> Self {
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_string());
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                EnvironmentVariableCredentialsProvider::new(),
            ))
            .build();
        Self::build(
            &sdk,
            Endpoints {
                dynamodb: env_endpoint("DYNAMODB"),
                sqs: env_endpoint("SQS"),
                secrets: env_endpoint("SECRETS_MANAGER"),
                s3: env_endpoint("S3"),
            },
        )
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self::build(sdk, Endpoints::default())
    }

    /// Clients with explicit endpoints: DynamoDB's, and one for every other service
    /// (moto). Tests use it to reach the local stack without touching the process env.
    pub fn with_endpoints(sdk: &SdkConfig, dynamodb: Option<&str>, others: Option<&str>) -> Self {
        let others = others.map(str::to_string);
        Self::build(
            sdk,
            Endpoints {
                dynamodb: dynamodb.map(str::to_string),
                sqs: others.clone(),
                secrets: others.clone(),
                s3: others,
            },
        )
    }

    fn build(sdk: &SdkConfig, endpoints: Endpoints) -> Self {
        // One reqwest client (one connection pool) for every service, S3 included.
        let reqwest = reqwest_client(DEFAULT_CONNECT_TIMEOUT);
        let http = ReqwestHttpClient::shared(reqwest.clone());
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(sdk)
            .http_client(http.clone())
            .interceptor(CallAccounting);
        if endpoints.dynamodb.is_some() {
            dynamo.set_endpoint_url(endpoints.dynamodb);
        }
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk)
            .http_client(http.clone())
            .interceptor(CallAccounting);
        if endpoints.sqs.is_some() {
            sqs.set_endpoint_url(endpoints.sqs);
        }
        let mut secrets = aws_sdk_secretsmanager::config::Builder::from(sdk)
            .http_client(http)
            .interceptor(CallAccounting);
        if endpoints.secrets.is_some() {
            secrets.set_endpoint_url(endpoints.secrets);
        }
        AwsClients {
            dynamo: aws_sdk_dynamodb::Client::from_conf(dynamo.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets.build()),
            s3: Arc::new(S3::new(
                reqwest,
                sdk.credentials_provider(),
                sdk.region()
                    .map_or_else(|| "us-east-1".to_string(), |r| r.to_string()),
                endpoints.s3.or_else(|| env_endpoint("S3")),
            )),
        }
    }

    /// The S3 client.
    pub fn s3(&self) -> &S3 {
        &self.s3
    }
}
