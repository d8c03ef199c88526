//! AWS clients, built once per instance. Endpoints come from the standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local stack
//! (DynamoDB Local, moto) is reached; every client carries the call-accounting interceptor.

use crate::metrics::CallAccounting;
use aws_config::{BehaviorVersion, SdkConfig};

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    pub async fn from_env() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_sdk_config(&sdk)
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        let dynamo = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(CallAccounting)
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(sdk)
            .interceptor(CallAccounting)
            .build();
        let secrets = aws_sdk_secretsmanager::config::Builder::from(sdk)
            .interceptor(CallAccounting)
            .build();
        AwsClients {
            dynamo: aws_sdk_dynamodb::Client::from_conf(dynamo),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets),
        }
    }
}
