//! Providers' statuses of outbound messages: Meta's (status jobs on the inbound queue) and
//! the sandbox's (its own queue). Both are recorded through `services::statuses::record`,
//! forward only: a late `delivered` never moves a `read` message back.

use super::{enqueue, EnqueueError, InboundJob, StatusJob};
use crate::adapters::providers::sandbox::SandboxStatus;
use crate::domain::devices::ProviderKind;
use crate::domain::inbound::{parse_status, reported_time, ReportedError, ReportedStatus};
use crate::domain::messages::MessageStatus;
use crate::domain::time::iso;
use crate::runtime::state::AppState;
use crate::services::statuses;
use crate::store::messages::{Direction, Failure, StatusOutcome, StatusUpdate};
use crate::store::StoreError;

/// How many times a status is re-queued while its message cannot be found.
pub const MAX_STATUS_ATTEMPTS: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("unreadable status: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Requeue(#[from] EnqueueError),
    /// The sandbox's status came before its send recorded `sent`: SQS brings it back.
    #[error("message {0} is still pending")]
    StillPending(String),
}

/// One of Meta's statuses for an outbound message. A status whose message cannot be found
/// yet (the send is still recording `sent`, or the index lags) is queued again a few seconds
/// later, a few times.
pub async fn status(state: &AppState, job: StatusJob) -> Result<(), StatusError> {
    let report = parse_status(&job.status).map_err(StatusError::Unreadable)?;
    let status = match &report.status {
        ReportedStatus::Sent => MessageStatus::Sent,
        ReportedStatus::Delivered => MessageStatus::Delivered,
        ReportedStatus::Read => MessageStatus::Read,
        ReportedStatus::Failed => MessageStatus::Failed,
        ReportedStatus::Other(s) => {
            tracing::info!(status = %s, wamid = %report.wamid, "status not recorded");
            return Ok(());
        }
    };
    let now = state.clock.now();
    let Some(message) = state
        .store
        .find_message_by_wamid(&job.tenant_id, &report.wamid)
        .await?
    else {
        return later(state, job, "its message is not known (yet)").await;
    };
    if message.direction == Direction::In {
        return Ok(());
    }
    if message.provider == Some(ProviderKind::WhatsappWeb) && status != MessageStatus::Failed {
        crate::services::gateway::acks::acked(state, &message).await?;
    }
    // The message as read can only be behind the stored one (statuses move forward only):
    // a report it already refuses, the conditional write would refuse too. Skipping that
    // write saves a write unit on every duplicate, e.g. Meta's `sent` after our own.
    if message.status != MessageStatus::Pending && !message.status.may_become(status) {
        tracing::debug!(message_id = %message.id, current = %message.status, reported = %status, "status report ignored (duplicate or stale)");
        return Ok(());
    }
    let failure = (status == MessageStatus::Failed).then(|| {
        let e = report.error.clone().unwrap_or(ReportedError {
            code: None,
            title: None,
            message: None,
            details: None,
        });
        Failure {
            error: e.describe(),
            code: e.code,
            response_status: None,
            retry_after: None,
        }
    });
    let update = StatusUpdate {
        tenant_id: job.tenant_id.clone(),
        message_id: message.id.clone(),
        status,
        at: iso(reported_time(report.timestamp, now)),
        failure,
        completion: None,
    };
    match statuses::record(state, update).await? {
        StatusOutcome::Unchanged(m) if m.status == MessageStatus::Pending => {
            later(state, job, "its send has not recorded `sent` yet").await
        }
        StatusOutcome::NotFound => later(state, job, "its message is gone").await,
        StatusOutcome::Changed(..) | StatusOutcome::Unchanged(_) => Ok(()),
    }
}

async fn later(state: &AppState, job: StatusJob, why: &str) -> Result<(), StatusError> {
    let attempt = job.attempt + 1;
    if attempt >= MAX_STATUS_ATTEMPTS {
        tracing::warn!(tenant_id = %job.tenant_id, status = %job.status, why, "status dropped after retries");
        return Ok(());
    }
    let delay = 2u32.saturating_pow(attempt).min(60);
    tracing::info!(tenant_id = %job.tenant_id, why, attempt, delay, "status queued again");
    let job = InboundJob::Status(StatusJob { attempt, ..job });
    Ok(enqueue(state, &[(job, delay)]).await?)
}

/// A `delivered` or `read` the sandbox provider scheduled. One that arrives while its
/// message is still `pending` (its send has not recorded `sent` yet) is an error, so the
/// queue brings it back; duplicates and stale statuses change nothing.
pub async fn sandbox(state: &AppState, status: SandboxStatus) -> Result<(), StatusError> {
    let update = StatusUpdate {
        tenant_id: status.tenant_id,
        message_id: status.message_id,
        status: status.status,
        at: iso(state.clock.now()),
        failure: None,
        completion: None,
    };
    match statuses::record(state, update).await? {
        StatusOutcome::Unchanged(m) if m.status == MessageStatus::Pending => {
            Err(StatusError::StillPending(m.id))
        }
        StatusOutcome::Changed(..) | StatusOutcome::Unchanged(_) | StatusOutcome::NotFound => {
            Ok(())
        }
    }
}
