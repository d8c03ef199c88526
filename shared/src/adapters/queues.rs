//! SQS, written one way by every producer: JSON bodies, SQS's delay limit, ten messages per
//! `SendMessageBatch`, and the entries SQS refused tried again (with backoff) before the
//! call fails naming which messages were not queued.

use crate::runtime::retry::Backoff;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::Serialize;

/// SQS's longest per-message delay.
pub const MAX_DELAY_SECS: u32 = 900;

/// SQS takes at most ten entries per batch call.
const BATCH: usize = 10;

/// Tries per chunk: refused entries are sent again this many times in all.
const ATTEMPTS: u32 = 3;
const BACKOFF: Backoff = Backoff::new(ATTEMPTS);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("message body: {0}")]
    Body(String),
    #[error("SQS: {0}")]
    Sqs(String),
    /// Positions (in the caller's slice) of the messages SQS did not take.
    #[error("{} of {total} messages were not queued", not_queued.len())]
    NotQueued {
        not_queued: Vec<usize>,
        total: usize,
    },
}

/// A message and its delay in seconds (clamped to [`MAX_DELAY_SECS`]).
pub struct Outgoing<'a, T> {
    pub body: &'a T,
    pub delay_secs: u32,
}

/// Sends one message.
pub async fn send<T: Serialize>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    body: &T,
    delay_secs: u32,
) -> Result<(), QueueError> {
    let body = serde_json::to_string(body).map_err(|e| QueueError::Body(e.to_string()))?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .delay_seconds(clamp_delay(delay_secs))
        .send()
        .await
        .map_err(|e| QueueError::Sqs(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()))?;
    Ok(())
}

/// Sends every message, ten per call, all or an error. A chunk's refused entries are sent
/// again; what is still refused is reported by position.
pub async fn send_all<T: Serialize>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[Outgoing<'_, T>],
) -> Result<(), QueueError> {
    let mut not_queued = Vec::new();
    for (c, chunk) in messages.chunks(BATCH).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let body =
                    serde_json::to_string(m.body).map_err(|e| QueueError::Body(e.to_string()))?;
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .delay_seconds(clamp_delay(m.delay_secs))
                    .build()
                    .map_err(|e| QueueError::Body(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Each try sends only what SQS refused the time before.
        let mut pending = entries;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                BACKOFF.pause(attempt - 1).await;
            }
            let out = sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(pending.clone()))
                .send()
                .await
                .map_err(|e| {
                    QueueError::Sqs(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
                })?;
            let refused: Vec<String> = out.failed.into_iter().map(|f| f.id).collect();
            pending.retain(|e| refused.iter().any(|id| id == e.id()));
            if pending.is_empty() {
                break;
            }
        }
        not_queued.extend(
            pending
                .iter()
                .filter_map(|e| e.id().parse::<usize>().ok())
                .map(|i| c * BATCH + i),
        );
    }
    match not_queued.is_empty() {
        true => Ok(()),
        false => Err(QueueError::NotQueued {
            not_queued,
            total: messages.len(),
        }),
    }
}

fn clamp_delay(secs: u32) -> i32 {
    i32::try_from(secs.min(MAX_DELAY_SECS)).unwrap_or(0)
}
