//! AWS clients, built once per instance. Endpoints come from the standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local stack
//! (DynamoDB Local, moto) is reached; every client carries the call-accounting interceptor.

use crate::runtime::metrics::CallAccounting;
use aws_config::{BehaviorVersion, SdkConfig};

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub s3: aws_sdk_s3::Client,
}

impl AwsClients {
    pub async fn from_env() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_sdk_config(&sdk)
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self::with_endpoints(sdk, None, None)
    }

    /// Clients with explicit endpoints: DynamoDB's, and one for every other service
    /// (moto). Tests use it to reach the local stack without touching the process env.
    pub fn with_endpoints(sdk: &SdkConfig, dynamodb: Option<&str>, others: Option<&str>) -> Self {
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(CallAccounting);
        if let Some(url) = dynamodb {
            dynamo.set_endpoint_url(Some(url.to_string()));
        }
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk).interceptor(CallAccounting);
        if let Some(url) = others {
            sqs.set_endpoint_url(Some(url.to_string()));
        }
        let mut secrets =
            aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(CallAccounting);
        if let Some(url) = others {
            secrets.set_endpoint_url(Some(url.to_string()));
        }
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk).interceptor(CallAccounting);
        if let Some(url) = others {
            s3.set_endpoint_url(Some(url.to_string()));
        }
        // A local endpoint (moto) serves buckets by path, not by host name.
        let local = others.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        s3.set_force_path_style(Some(local));
        let (dynamo, sqs, secrets) = (dynamo.build(), sqs.build(), secrets.build());
        AwsClients {
            dynamo: aws_sdk_dynamodb::Client::from_conf(dynamo),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
        }
    }
}
