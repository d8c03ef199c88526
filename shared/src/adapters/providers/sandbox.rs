//! The sandbox: a test mode a newcomer can use at once. It accepts every send without
//! WhatsApp, answers with a message id, and schedules `delivered` (after
//! `SANDBOX_STATUS_DELAY_SECONDS`) and `read` (after twice that) on an SQS queue with
//! per-message `DelaySeconds`; the sandbox worker records them. Nothing sleeps.

use super::{Accepted, OutboundMessage, Provider, ProviderError, ProviderErrorKind};
use crate::adapters::queues::{self, Outgoing};
use crate::domain::devices::ProviderKind;
use crate::domain::messages::{id_from_wamid, MessageStatus};
use crate::runtime::metrics;
use crate::store::devices::Device;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// What the sandbox queue carries: one status to record for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxStatus {
    pub tenant_id: String,
    pub message_id: String,
    pub status: MessageStatus,
}

#[derive(Debug)]
pub struct Sandbox {
    sqs: aws_sdk_sqs::Client,
    queue_url: Option<String>,
    delay_seconds: u32,
}

impl Sandbox {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: Option<String>, delay_seconds: u32) -> Self {
        Sandbox {
            sqs,
            queue_url,
            delay_seconds,
        }
    }

    async fn send_inner(&self, message: &OutboundMessage) -> Result<Accepted, ProviderError> {
        let wa_message_id = format!(
            "sandbox.{}",
            uuid::Uuid::new_v4().simple().to_string().to_uppercase()
        );
        let Some(queue_url) = &self.queue_url else {
            tracing::warn!("SANDBOX_STATUS_QUEUE_URL is not set: sandbox messages stay \"sent\"");
            return Ok(Accepted { wa_message_id });
        };
        // Its WhatsApp id is random: the id computed from it is never taken.
        let message_id = message
            .message_id
            .clone()
            .unwrap_or_else(|| id_from_wamid(&message.tenant_id, &wa_message_id));
        let status = |status: MessageStatus| SandboxStatus {
            tenant_id: message.tenant_id.clone(),
            message_id: message_id.clone(),
            status,
        };
        let (delivered, read) = (
            status(MessageStatus::Delivered),
            status(MessageStatus::Read),
        );
        let statuses = [
            Outgoing {
                body: &delivered,
                delay_secs: self.delay_seconds,
            },
            Outgoing {
                body: &read,
                delay_secs: self.delay_seconds * 2,
            },
        ];
        metrics::milestone(metrics::PROVIDER_CALL);
        queues::send_all(&self.sqs, queue_url, &statuses)
            .await
            .map_err(|e| internal(e.to_string()))?;
        Ok(Accepted { wa_message_id })
    }
}

fn internal(detail: String) -> ProviderError {
    tracing::error!(error = %detail, "scheduling sandbox statuses failed");
    ProviderError::new(
        ProviderErrorKind::Unavailable,
        None,
        "The sandbox could not accept the message; try again",
    )
}

impl Provider for Sandbox {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sandbox
    }

    fn send<'a>(
        &'a self,
        _device: &'a Device,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<Accepted, ProviderError>> {
        Box::pin(self.send_inner(message))
    }
}
