//! One step of a campaign's life: start, resume, queue a batch (`batch.rs`), recover a
//! stalled one (`recover.rs`), complete, pause.

use super::batch::queue_batch;
use super::recover::recover;
use super::{
    batch_info, in_flight, resumes_at, Advance, BatchInfo, CampaignError, Lost, Trigger, MAX_STEPS,
    STALE_BATCH_SECS,
};
use crate::domain::campaigns::{CampaignStatus, PauseReason};
use crate::domain::quota::{day_of, next_midnight};
use crate::domain::time::iso;
use crate::domain::webhooks::{CampaignCompleted, WebhookEvent};
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::store::campaigns::{Campaign, Due};
use chrono::{DateTime, Utc};

/// Where one step left the campaign.
pub(super) enum Step {
    Done(Advance),
    /// It moved (or someone else moved it): read it again and take the next step.
    Again,
}

/// What one step of a running campaign works with: the campaign as read, why the step
/// runs, and when.
#[derive(Clone, Copy)]
pub(super) struct Turn<'a> {
    pub state: &'a AppState,
    pub campaign: &'a Campaign,
    pub trigger: Trigger,
    pub now: DateTime<Utc>,
}

/// Moves a campaign one step (see the module docs). Safe to call from anywhere at any time.
pub async fn advance(
    state: &AppState,
    tenant_id: &str,
    campaign_id: &str,
    trigger: Trigger,
) -> Result<Advance, CampaignError> {
    let mut last = None;
    for _ in 0..MAX_STEPS {
        let Some(c) = state.store.get_campaign(tenant_id, campaign_id).await? else {
            if trigger == Trigger::Scheduler {
                state
                    .store
                    .set_campaign_due(tenant_id, campaign_id, Due::Remove)
                    .await?;
            }
            return Ok(Advance::NotFound);
        };
        let in_flight = batch_info(&c);
        match step(state, &c, trigger).await? {
            Step::Done(a) => return Ok(a),
            Step::Again => last = in_flight,
        }
    }
    // Still moving after several steps (others are working on it too): report the batch.
    Ok(Advance::InFlight(last.unwrap_or(BatchInfo {
        number: 0,
        size: 0,
        queued: 0,
        first_send_at: None,
        last_send_at: None,
    })))
}

async fn step(state: &AppState, c: &Campaign, trigger: Trigger) -> Result<Step, CampaignError> {
    let now = state.clock.now();
    let store = &state.store;
    match c.status {
        CampaignStatus::Completed => {
            if trigger == Trigger::Scheduler {
                // Its entry stays until the completion event is out.
                publish_completed(state, c).await;
            }
            Ok(Step::Done(Advance::Finished(c.status)))
        }
        CampaignStatus::Cancelled => {
            if trigger == Trigger::Scheduler {
                store
                    .set_campaign_due(&c.tenant_id, &c.id, Due::Remove)
                    .await?;
            }
            Ok(Step::Done(Advance::Finished(c.status)))
        }
        CampaignStatus::Scheduled => {
            let at = c.scheduled_at.unwrap_or(now);
            if now < at {
                if trigger == Trigger::Scheduler {
                    store
                        .set_campaign_due(&c.tenant_id, &c.id, Due::At(at.timestamp()))
                        .await?;
                }
                return Ok(Step::Done(Advance::NotDue {
                    scheduled_at: iso(at),
                }));
            }
            let started = store
                .start_campaign(&c.tenant_id, &c.id, now, now.timestamp())
                .await?;
            if started {
                tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, "scheduled campaign started");
            }
            Ok(Step::Again)
        }
        CampaignStatus::Paused => {
            let reason = c.pause_reason.unwrap_or(PauseReason::DailyLimit);
            let resume = match reason {
                PauseReason::DailyLimit => c
                    .paused_day
                    .as_deref()
                    .is_none_or(|day| day_of(now).as_str() > day),
                PauseReason::DeviceUnavailable | PauseReason::TemplateUnavailable => {
                    trigger == Trigger::Run
                }
            };
            if !resume {
                let resumes = resumes_at(c);
                if trigger == Trigger::Scheduler {
                    let due = match resumes.as_deref().and_then(crate::domain::time::parse) {
                        Some(at) => Due::At(at.timestamp()),
                        None => Due::Remove,
                    };
                    store.set_campaign_due(&c.tenant_id, &c.id, due).await?;
                }
                return Ok(Step::Done(Advance::Paused {
                    reason,
                    message: c.pause_message.clone().unwrap_or_default(),
                    resumes_at: resumes,
                    now: false,
                }));
            }
            // Running again; the batch's leftovers (their messages were dropped while
            // paused) are queued again at once.
            let resumed = store
                .resume_campaign(&c.tenant_id, &c.id, reason, now, now.timestamp())
                .await?;
            if resumed {
                tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, reason = reason.as_str(), "campaign resumed");
            }
            Ok(Step::Again)
        }
        CampaignStatus::Running => {
            running(Turn {
                state,
                campaign: c,
                trigger,
                now,
            })
            .await
        }
    }
}

async fn running(turn: Turn<'_>) -> Result<Step, CampaignError> {
    let Turn {
        state,
        campaign: c,
        trigger,
        now,
    } = turn;
    let now_ms = now.timestamp_millis();
    if c.queued > 0 {
        let last_due = c.batch_last_due_ms.unwrap_or(0);
        let stale_at = last_due + STALE_BATCH_SECS * 1000;
        if now_ms < stale_at {
            if trigger == Trigger::Scheduler {
                state
                    .store
                    .set_campaign_due(&c.tenant_id, &c.id, Due::At(stale_at / 1000 + 1))
                    .await?;
            }
            return Ok(Step::Done(Advance::InFlight(in_flight(c))));
        }
        return recover(turn).await;
    }
    if c.source_done && c.pending == 0 {
        return complete(state, c, now).await;
    }
    queue_batch(turn).await
}

/// Pauses a running campaign. A daily-cap pause is looked at again at the next UTC
/// midnight; a device pause waits for `POST …/run`.
pub async fn pause(
    state: &AppState,
    tenant_id: &str,
    campaign_id: &str,
    reason: PauseReason,
    message: &str,
) -> Result<bool, CampaignError> {
    let now = state.clock.now();
    let due = match reason {
        PauseReason::DailyLimit => Due::At(next_midnight(now).timestamp()),
        PauseReason::DeviceUnavailable | PauseReason::TemplateUnavailable => Due::Remove,
    };
    let store = &state.store;
    let attempt = retry(Backoff::new(4), |_| async {
        if store
            .pause_campaign(tenant_id, campaign_id, reason, message, now, due)
            .await
            .map_err(Lost::Failed)?
        {
            return Ok(true);
        }
        // Not running any more (paused or cancelled by someone else), or another
        // transaction held the campaign (a worker settling a recipient): look again.
        let running = store
            .get_campaign(tenant_id, campaign_id)
            .await
            .map_err(Lost::Failed)?
            .is_some_and(|c| c.status == CampaignStatus::Running);
        if running {
            Err(Retry::Again(Lost::Race))
        } else {
            Ok(false)
        }
    })
    .await;
    let paused = match attempt {
        Ok(paused) => paused,
        Err(Lost::Race) => false,
        Err(Lost::Failed(e)) => return Err(e.into()),
    };
    if paused {
        tracing::info!(
            campaign_id,
            tenant_id,
            reason = reason.as_str(),
            message,
            "campaign paused"
        );
    }
    Ok(paused)
}

async fn complete(
    state: &AppState,
    c: &Campaign,
    now: DateTime<Utc>,
) -> Result<Step, CampaignError> {
    let at = now;
    // The entry stays (due now) until the completion event is published.
    let done = state
        .store
        .complete_campaign(&c.tenant_id, &c.id, at, now.timestamp())
        .await?;
    if !done {
        return Ok(Step::Again);
    }
    tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, total = c.total, sent = c.sent, failed = c.failed, "campaign completed");
    let mut finished = c.clone();
    finished.status = CampaignStatus::Completed;
    finished.completed_at = Some(now);
    publish_completed(state, &finished).await;
    Ok(Step::Done(Advance::Completed))
}

/// Publishes `campaign.completed` (its id is derived from the campaign, so publishing it
/// again makes no second delivery), then drops the campaign's scheduler entry. A failure
/// leaves the entry: the minute job publishes it then.
async fn publish_completed(state: &AppState, c: &Campaign) {
    let timestamp = c.completed_at.map(|t| t.timestamp()).unwrap_or_default();
    let event = WebhookEvent::CampaignCompleted(CampaignCompleted {
        campaign_id: c.id.clone(),
        name: c.name.clone(),
        total: c.total,
        sent: c.sent,
        failed: c.failed,
        timestamp,
    });
    let key = format!("campaign:{}:completed", c.id);
    match crate::services::events::publish_with_key(state, &c.tenant_id, event, &key).await {
        Ok(event_id) => {
            tracing::info!(campaign_id = %c.id, %event_id, "campaign.completed published");
            if let Err(e) = state
                .store
                .set_campaign_due(&c.tenant_id, &c.id, Due::Remove)
                .await
            {
                tracing::warn!(campaign_id = %c.id, error = %e, "removing a completed campaign's scheduler entry failed");
            }
        }
        Err(e) => {
            tracing::error!(campaign_id = %c.id, error = %e, "publishing campaign.completed failed; the scheduler retries");
        }
    }
}
