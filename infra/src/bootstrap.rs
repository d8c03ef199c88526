//! Creates the template's tables, queues (DLQs first) and secrets on the local stack, named
//! `<prefix>-<LogicalId>`. Idempotent: running it against existing resources updates what
//! can be updated (queue attributes, secret values) and leaves data alone.

use crate::template::{Resource, Template};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use std::collections::HashMap;
use wati_shared::runtime::aws::AwsClients;

#[derive(Debug, thiserror::Error)]
#[error("bootstrap {resource}: {detail}")]
pub struct BootstrapError {
    pub resource: String,
    pub detail: String,
}

fn err(resource: &str, detail: impl std::fmt::Display) -> BootstrapError {
    BootstrapError {
        resource: resource.to_string(),
        detail: detail.to_string(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct BootstrapOptions {
    /// Resource names are `<prefix>-<LogicalId>`: one prefix per stack or per test.
    pub prefix: String,
    /// Values for `AWS::SecretsManager::Secret` resources, by logical id. Secrets without
    /// one get a random value.
    pub secret_values: HashMap<String, String>,
    /// Overrides every queue's visibility timeout (tests of redelivery use a short one).
    pub visibility_timeout: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalQueue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// The physical names of what was created, by logical id.
#[derive(Debug, Clone, Default)]
pub struct LocalStack {
    pub prefix: String,
    pub tables: HashMap<String, String>,
    pub queues: HashMap<String, LocalQueue>,
    pub secrets: HashMap<String, String>,
    pub buckets: HashMap<String, String>,
}

impl LocalStack {
    /// What `!Ref` / `!GetAtt` of a local resource evaluate to, as in CloudFormation.
    pub fn resolve(&self, id: &str, attr: Option<&str>) -> Option<String> {
        if let Some(t) = self.tables.get(id) {
            return match attr {
                None => Some(t.clone()),
                Some("Arn") => Some(format!("arn:aws:dynamodb:us-east-1:123456789012:table/{t}")),
                _ => None,
            };
        }
        if let Some(q) = self.queues.get(id) {
            return match attr {
                None | Some("QueueUrl") => Some(q.url.clone()),
                Some("Arn") => Some(q.arn.clone()),
                Some("QueueName") => Some(q.name.clone()),
                _ => None,
            };
        }
        if let Some(b) = self.buckets.get(id) {
            return match attr {
                None => Some(b.clone()),
                Some("Arn") => Some(format!("arn:aws:s3:::{b}")),
                _ => None,
            };
        }
        if let Some(s) = self.secrets.get(id) {
            return match attr {
                None | Some("Id") => Some(s.clone()),
                _ => None,
            };
        }
        match attr {
            None => Some(format!("{}-{id}", self.prefix)),
            Some(_) => None,
        }
    }

    pub fn table(&self) -> Option<&str> {
        self.tables.values().next().map(String::as_str)
    }

    /// The environment a function sees, as the template defines it.
    pub fn function_env(
        &self,
        template: &Template,
        function: &str,
    ) -> std::collections::BTreeMap<String, String> {
        template.environment(function, &|id, attr| self.resolve(id, attr))
    }
}

pub async fn bootstrap(
    template: &Template,
    aws: &AwsClients,
    opts: &BootstrapOptions,
) -> Result<LocalStack, BootstrapError> {
    let mut stack = LocalStack {
        prefix: opts.prefix.clone(),
        ..Default::default()
    };
    for (id, r) in template.resources_of("AWS::DynamoDB::Table") {
        let name = format!("{}-{id}", opts.prefix);
        create_table(aws, &name, r).await.map_err(|e| err(id, e))?;
        stack.tables.insert(id.to_string(), name);
    }
    // Queues that others redrive into go first, so their ARNs can be referenced.
    let mut queues: Vec<(&str, &Resource)> = template.resources_of("AWS::SQS::Queue").collect();
    queues.sort_by_key(|(_, r)| get(&r.properties, "RedrivePolicy").is_some());
    for (id, r) in queues {
        let name = format!("{}-{id}", opts.prefix);
        let q = create_queue(aws, template, &stack, &name, r, opts.visibility_timeout)
            .await
            .map_err(|e| err(id, e))?;
        stack.queues.insert(id.to_string(), q);
    }
    for (id, _) in template.resources_of("AWS::S3::Bucket") {
        // Bucket names are lower case.
        let name = format!("{}-{id}", opts.prefix).to_lowercase();
        create_bucket(aws, &name).await.map_err(|e| err(id, e))?;
        stack.buckets.insert(id.to_string(), name);
    }
    for (id, _) in template.resources_of("AWS::SecretsManager::Secret") {
        let name = format!("{}-{id}", opts.prefix);
        let value = match opts.secret_values.get(id) {
            Some(v) => v.clone(),
            None => {
                wati_shared::domain::api_keys::generate_token("", 48).map_err(|e| err(id, e))?
            }
        };
        put_secret(aws, &name, &value)
            .await
            .map_err(|e| err(id, e))?;
        stack.secrets.insert(id.to_string(), name);
    }
    Ok(stack)
}

/// Creates a bucket (moto); one that exists already is fine.
async fn create_bucket(aws: &AwsClients, name: &str) -> Result<(), String> {
    aws.s3()
        .create_bucket(name)
        .await
        .map_err(|e| e.to_string())
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    get(v, key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing {key}"))
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, String> {
    v.as_sequence()
        .ok_or("KeySchema must be a list")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(str_of(k, "AttributeName")?)
                .key_type(KeyType::from(str_of(k, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// On an existing table (a running local stack), says which of the template's indexes it
/// lacks. DynamoDB Local never finishes building an index added to a table (it stays
/// `CREATING` and queries on it fail), so the stack must be restarted instead.
async fn warn_missing_indexes(
    aws: &AwsClients,
    name: &str,
    wanted: &[GlobalSecondaryIndex],
) -> Result<(), String> {
    let described = aws
        .dynamo
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())?;
    let existing: Vec<String> = described
        .table
        .and_then(|t| t.global_secondary_indexes)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| g.index_name)
        .collect();
    for g in wanted.iter().filter(|g| !existing.contains(&g.index_name)) {
        tracing::warn!(
            table = name,
            index = %g.index_name,
            "the table predates this index of the template: restart the local stack \
             (make stack-down && make dev) so it is created with it"
        );
    }
    Ok(())
}

async fn create_table(aws: &AwsClients, name: &str, r: &Resource) -> Result<(), String> {
    let p = &r.properties;
    let mut req = aws
        .dynamo
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(
            get(p, "KeySchema").ok_or("missing KeySchema")?,
        )?));
    for a in get(p, "AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(str_of(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(str_of(a, "AttributeType")?))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    let mut gsis: Vec<GlobalSecondaryIndex> = Vec::new();
    for g in get(p, "GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let projection = get(g, "Projection");
        let mut proj = Projection::builder().projection_type(ProjectionType::from(
            projection
                .and_then(|pr| get(pr, "ProjectionType"))
                .and_then(Value::as_str)
                .unwrap_or("ALL"),
        ));
        for a in projection
            .and_then(|pr| get(pr, "NonKeyAttributes"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            proj = proj.non_key_attributes(a.as_str().unwrap_or_default());
        }
        gsis.push(
            GlobalSecondaryIndex::builder()
                .index_name(str_of(g, "IndexName")?)
                .set_key_schema(Some(key_schema(
                    get(g, "KeySchema").ok_or("missing GSI KeySchema")?,
                )?))
                .projection(proj.build())
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    req = req.set_global_secondary_indexes(Some(gsis.clone()).filter(|g| !g.is_empty()));
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            // The table is there (a running dev stack).
            return warn_missing_indexes(aws, name, &gsis).await;
        }
        Err(e) => return Err(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()),
    }
    if let Some(ttl) = get(p, "TimeToLiveSpecification") {
        if get(ttl, "Enabled").and_then(Value::as_bool) == Some(true) {
            aws.dynamo
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(str_of(ttl, "AttributeName")?)
                        .enabled(true)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())?;
        }
    }
    Ok(())
}

async fn create_queue(
    aws: &AwsClients,
    template: &Template,
    stack: &LocalStack,
    name: &str,
    r: &Resource,
    visibility_override: Option<i32>,
) -> Result<LocalQueue, String> {
    let p = &r.properties;
    let mut attrs: HashMap<QueueAttributeName, String> = HashMap::new();
    for (key, attr) in [
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        (
            "MessageRetentionPeriod",
            QueueAttributeName::MessageRetentionPeriod,
        ),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
    ] {
        if let Some(v) = get(p, key).and_then(|v| template.eval(v, &|id, a| stack.resolve(id, a))) {
            attrs.insert(attr, v);
        }
    }
    if let Some(v) = visibility_override {
        attrs.insert(QueueAttributeName::VisibilityTimeout, v.to_string());
    }
    if let Some(rp) = get(p, "RedrivePolicy") {
        let target = get(rp, "deadLetterTargetArn")
            .and_then(|v| template.eval(v, &|id, a| stack.resolve(id, a)))
            .ok_or("RedrivePolicy.deadLetterTargetArn does not resolve (is the DLQ declared?)")?;
        let max = get(rp, "maxReceiveCount")
            .and_then(Value::as_i64)
            .unwrap_or(5);
        attrs.insert(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": target, "maxReceiveCount": max}).to_string(),
        );
    }
    let created = aws
        .sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attrs.clone()))
        .send()
        .await;
    let url = match created {
        Ok(out) => out.queue_url.ok_or("CreateQueue returned no URL")?,
        Err(_) => {
            // Already there with other attributes: bring them in line with the template.
            let url = aws
                .sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?
                .queue_url
                .ok_or("GetQueueUrl returned no URL")?;
            aws.sqs
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attrs))
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
            url
        }
    };
    let arn = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or("queue has no ARN")?;
    Ok(LocalQueue {
        name: name.to_string(),
        url,
        arn,
    })
}

async fn put_secret(aws: &AwsClients, name: &str, value: &str) -> Result<(), String> {
    let created = aws
        .secrets
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            aws.secrets
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string())
        }
        Err(e) => Err(aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string()),
    }
}
