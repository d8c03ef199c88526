//! The campaign worker's handling of one task: claim the recipient, send, record the
//! outcome, and queue the next batch when this one is done.

use super::advance::{advance, pause};
use super::{SendTask, Trigger};
use crate::adapters::providers::Content;
use crate::domain::analytics::CountsAs;
use crate::domain::campaigns::{CampaignStatus, PauseReason, RecipientStatus};
use crate::domain::phone::Phone;
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::services::sending::{self, ConsentCheck, SendError, SendRequest};
use crate::store::campaigns::{Claim, Outcome};
use crate::store::messages::MessageSource;
use chrono::{DateTime, Utc};

/// What the worker did with one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskResult {
    Sent,
    Failed,
    /// Redelivered or duplicate: the recipient was already claimed or settled.
    Duplicate,
    /// The campaign is not running (paused, cancelled): nothing sent.
    Skipped,
    /// Stopped before the provider (daily cap, device): the campaign is paused and the
    /// recipient stays queued.
    Paused,
    /// The recipient opted out: marked `skipped` (`opted_out`), nothing sent.
    OptedOut,
}

const CLAIM_CONTENDED: &str = "the recipient's claim kept conflicting";

/// The worker's handling of one SQS message. `Err`: leave the message on the queue (SQS
/// brings it back after the visibility timeout; nothing was sent).
pub async fn handle_task(state: &AppState, task: SendTask) -> Result<TaskResult, String> {
    let store = &state.store;
    // Validated when the campaign was created: a bad number here is a bug. It is refused
    // before the claim, so the message goes to the DLQ and the recipient stays queued.
    let to = Phone::parse("to", &task.to).map_err(|e| format!("campaign task: {e}"))?;
    let message_id = uuid::Uuid::now_v7().to_string();
    let claim = retry(Backoff::new(4), |_| async {
        let now = state.clock.now();
        let claim = store
            .claim_recipient(
                &task.tenant_id,
                &task.campaign_id,
                &task.recipient,
                to.as_str(),
                &message_id,
                now.timestamp_millis(),
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        match claim {
            Claim::Contended => Err(Retry::Again(CLAIM_CONTENDED.to_string())),
            claim => Ok(claim),
        }
    })
    .await?;
    match claim {
        Claim::Claimed => {}
        Claim::NotQueued => return Ok(TaskResult::Duplicate),
        Claim::OptedOut => return skip(state, &task, None).await,
        // The retry above gives it back as an error once its attempts run out.
        Claim::Contended => return Err(CLAIM_CONTENDED.into()),
        Claim::CampaignNotRunning => {
            let c = store
                .get_campaign(&task.tenant_id, &task.campaign_id)
                .await
                .map_err(|e| e.to_string())?;
            if c.is_some_and(|c| c.status == CampaignStatus::Cancelled) {
                let now = state.clock.now();
                store
                    .cancel_recipients(
                        &task.tenant_id,
                        &task.campaign_id,
                        std::slice::from_ref(&task.recipient),
                        now,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            return Ok(TaskResult::Skipped);
        }
    }

    let sender = sending::Sender {
        tenant_id: task.tenant_id.clone(),
        plan: task.plan,
        limits: task.limits,
        api_key_id: Some(task.key_id.clone()).filter(|k| !k.is_empty()),
        user_id: None,
    };
    let content = match &task.template {
        Some(t) => Content::Template(t.clone()),
        None => Content::Text {
            body: task.text.clone(),
        },
    };
    let request = SendRequest {
        to,
        content,
        text: Some(task.text.clone()).filter(|t| !t.is_empty()),
        device_id: task.device_id.clone(),
        media_check: None,
        idempotency: None,
        source: MessageSource::Campaign,
        consent: ConsentCheck::Always,
        counts_as: CountsAs::Campaign {
            id: task.campaign_id.clone(),
            name: task.campaign_name.clone(),
        },
    };
    let result = sending::send_with_id(state, &sender, request, message_id.clone()).await;
    let at = state.clock.now();
    let outcome = match result {
        // Opted out between the claim and the send: skipped under our claim.
        Err(SendError::OptedOut(_)) => return skip(state, &task, Some(&message_id)).await,
        Err(e) => {
            // Stopped before the provider: nothing went out, the claim is given back.
            store
                .release_recipient(
                    &task.tenant_id,
                    &task.campaign_id,
                    &task.recipient,
                    &message_id,
                    at,
                )
                .await
                .map_err(|e| e.to_string())?;
            let reason = match &e {
                SendError::DailyLimit(_) => PauseReason::DailyLimit,
                e if e.is_device_unavailable() => PauseReason::DeviceUnavailable,
                SendError::Template(_) | SendError::TemplateOnWhatsappWeb(_) => {
                    PauseReason::TemplateUnavailable
                }
                e => return Err(format!("send stopped before the provider: {e}")),
            };
            let message = match reason {
                PauseReason::DailyLimit => {
                    format!("{e}: the campaign resumes by itself at 00:00 UTC")
                }
                PauseReason::DeviceUnavailable => format!(
                    "{}. Connect a device, then POST /api/public/v1/campaigns/{}/run to resume",
                    e.to_string().trim_end_matches('.'),
                    task.campaign_id
                ),
                PauseReason::TemplateUnavailable => format!(
                    "{}. Make the template sendable (POST /api/templates/sync once Meta approves it), then POST /api/public/v1/campaigns/{}/run to resume",
                    e.to_string().trim_end_matches('.'),
                    task.campaign_id
                ),
            };
            pause(state, &task.tenant_id, &task.campaign_id, reason, &message)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(TaskResult::Paused);
        }
        Ok(reply) => match reply.outcome {
            Ok(sent) => Outcome::Sent {
                wa_message_id: Some(sent.wa_message_id),
            },
            Err(failed) => Outcome::Failed {
                error: failed.error,
                code: failed.code,
            },
        },
    };
    let recorded = record(state, &task, &message_id, &outcome, at).await;
    if !recorded {
        // The message record has the outcome; the scheduler settles the claim from it.
        tracing::error!(campaign_id = %task.campaign_id, recipient = %task.recipient, %message_id, "recipient outcome not recorded; the scheduler settles it from the message");
    }
    chain(state, &task).await;
    Ok(match outcome {
        Outcome::Sent { .. } => TaskResult::Sent,
        Outcome::Failed { .. } => TaskResult::Failed,
    })
}

/// The last recipient in flight queues the next batch (or completes the campaign).
async fn chain(state: &AppState, task: &SendTask) {
    match state
        .store
        .get_campaign(&task.tenant_id, &task.campaign_id)
        .await
    {
        Ok(Some(c)) if c.status == CampaignStatus::Running && c.queued == 0 => {
            if let Err(e) = advance(state, &task.tenant_id, &task.campaign_id, Trigger::Chain).await
            {
                tracing::warn!(campaign_id = %task.campaign_id, error = %e, "queueing the next batch failed; the scheduler will");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "reading the campaign after a send failed"),
    }
}

/// An opted-out recipient: `skipped` with `opted_out` (from `queued`, or under our claim
/// when the opt-out came between the claim and the send). Nothing was sent and no daily
/// unit is kept. `Err` leaves the task on the queue (a redelivery finds it queued or
/// claimed by a message id that is not its own, and settles it then or through recovery).
async fn skip(
    state: &AppState,
    task: &SendTask,
    claimed_by: Option<&str>,
) -> Result<TaskResult, String> {
    let skipped = retry(Backoff::new(5), |_| async {
        let now = state.clock.now();
        match state
            .store
            .skip_recipient(
                &task.tenant_id,
                &task.campaign_id,
                &task.recipient,
                claimed_by,
                now,
            )
            .await
        {
            Ok(true) => Ok(true),
            Ok(false) => {
                // Lost to another transaction on the campaign, or the recipient moved on.
                let r = state
                    .store
                    .get_recipient(&task.tenant_id, &task.campaign_id, &task.recipient)
                    .await
                    .map_err(|e| Retry::Stop(e.to_string()))?;
                let still = r.is_some_and(|r| match claimed_by {
                    None => r.status == RecipientStatus::Queued,
                    Some(mid) => {
                        r.status == RecipientStatus::Sending && r.message_id.as_deref() == Some(mid)
                    }
                });
                if still {
                    Err(Retry::Again(
                        "skipping the recipient kept conflicting".into(),
                    ))
                } else {
                    Ok(false)
                }
            }
            Err(e) => Err(Retry::Again(e.to_string())),
        }
    })
    .await?;
    if !skipped {
        return Ok(TaskResult::Duplicate);
    }
    tracing::info!(campaign_id = %task.campaign_id, recipient = %task.recipient, "recipient opted out: skipped");
    chain(state, task).await;
    Ok(TaskResult::OptedOut)
}

/// Records the outcome under our claim, trying again while another transaction on the
/// campaign is in the way. `false`: not recorded (the claim is not ours any more, or the
/// attempts ran out).
async fn record(
    state: &AppState,
    task: &SendTask,
    message_id: &str,
    outcome: &Outcome,
    at: DateTime<Utc>,
) -> bool {
    let store = &state.store;
    let recorded = retry(Backoff::new(5), |attempt| async move {
        match store
            .record_recipient_outcome(
                &task.tenant_id,
                &task.campaign_id,
                &task.recipient,
                message_id,
                outcome,
                at,
            )
            .await
        {
            Ok(true) => Ok(true),
            Ok(false) => {
                // Lost to another transaction on the campaign, or the claim is not ours.
                let still_ours = store
                    .get_recipient(&task.tenant_id, &task.campaign_id, &task.recipient)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|r| {
                        r.status == RecipientStatus::Sending
                            && r.message_id.as_deref() == Some(message_id)
                    });
                if still_ours {
                    Err(Retry::Again(()))
                } else {
                    Ok(false)
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "recording a recipient's outcome failed");
                Err(Retry::Again(()))
            }
        }
    })
    .await;
    recorded.unwrap_or(false)
}
