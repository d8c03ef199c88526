//! A stalled batch (lost messages, or a resumed campaign): its `queued` recipients are
//! queued again, and claims whose process died are settled from their message records.

use super::advance::{Step, Turn};
use super::batch::{enqueue, task, tenant_limits};
use super::{
    in_flight, ms_time, Advance, BatchInfo, CampaignError, Trigger, CHECK_AFTER_BATCH_SECS,
    STALE_CLAIM_MS,
};
use crate::domain::campaigns::{fill, plan_batch, RecipientStatus};
use crate::domain::messages::MessageStatus;
use crate::domain::time::iso;
use crate::runtime::state::AppState;
use crate::store::campaigns::{Campaign, Due, Outcome, Recipient};

/// The batch in flight is overdue (lost messages) or the campaign was resumed: queue its
/// `queued` recipients again, and settle claims whose process died from their message
/// records. Guarded by `batchRound`, so two callers cannot both queue them.
pub(super) async fn recover(turn: Turn<'_>) -> Result<Step, CampaignError> {
    let Turn {
        state,
        campaign: c,
        trigger,
        now,
    } = turn;
    let now_ms = now.timestamp_millis();
    let store = &state.store;
    let recipients = store.batch_recipients(&c.tenant_id, &c.id, c.batch).await?;
    let mut leftovers = Vec::new();
    let mut claimed_until: Option<i64> = None;
    let mut settled = 0;
    for r in recipients {
        match r.status {
            RecipientStatus::Queued => leftovers.push(r),
            RecipientStatus::Sending => {
                let claimed = r.claimed_at_ms.unwrap_or(0);
                if now_ms - claimed < STALE_CLAIM_MS {
                    let until = claimed + STALE_CLAIM_MS;
                    claimed_until = Some(claimed_until.map_or(until, |u: i64| u.max(until)));
                    continue;
                }
                match settle_dead_claim(state, c, &r).await? {
                    Settled::Requeue => leftovers.push(r),
                    Settled::Recorded => settled += 1,
                    Settled::Skipped => {}
                }
            }
            _ => {}
        }
    }
    if leftovers.is_empty() {
        if settled > 0 || claimed_until.is_none() {
            // Counters moved (or the batch is done after all): look again.
            return Ok(Step::Again);
        }
        let until = claimed_until.unwrap_or(now_ms);
        if trigger == Trigger::Scheduler {
            store
                .set_campaign_due(&c.tenant_id, &c.id, Due::At(until / 1000 + 1))
                .await?;
        }
        return Ok(Step::Done(Advance::InFlight(in_flight(c))));
    }
    let tenant = tenant_limits(state, c, now).await?;
    if tenant.suspended {
        return Ok(Step::Done(Advance::Suspended));
    }
    let plan = plan_batch(now_ms, c.next_send_at_ms, c.delay_seconds, leftovers.len());
    if plan.delays.is_empty() {
        return Ok(Step::Done(Advance::Waiting {
            next_send_at: ms_time(plan.next_send_at_ms).map(iso).unwrap_or_default(),
        }));
    }
    let first_due = plan.due_ms.first().copied().unwrap_or(now_ms);
    let last_due = plan.due_ms.last().copied().unwrap_or(now_ms);
    let at = now;
    let claimed = store
        .requeue_campaign_batch(
            c,
            first_due,
            last_due,
            plan.next_send_at_ms,
            at,
            last_due / 1000 + CHECK_AFTER_BATCH_SECS,
        )
        .await?;
    if !claimed {
        return Ok(Step::Again);
    }
    let mut tasks = Vec::with_capacity(plan.delays.len());
    for ((r, delay), due) in leftovers.iter().zip(&plan.delays).zip(&plan.due_ms) {
        // Checked when the batch was first queued.
        let content = fill(&c.message, c.template.as_ref(), &r.name, &r.phone);
        tasks.push((*delay, task(c, &tenant, r, content, *due)));
    }
    enqueue(state, &tasks).await?;
    let requeued = tasks.len();
    tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, batch = c.batch, requeued, settled, ?trigger, "campaign batch queued again");
    Ok(Step::Done(Advance::Requeued {
        batch: BatchInfo {
            number: c.batch,
            size: c.batch_size,
            queued: c.queued,
            first_send_at: ms_time(first_due),
            last_send_at: ms_time(last_due),
        },
        requeued,
    }))
}

enum Settled {
    /// Nothing went out: the recipient is `queued` again.
    Requeue,
    /// Its outcome was recorded from the message.
    Recorded,
    /// Someone else settled it first.
    Skipped,
}

/// Message shown for a recipient whose worker died while the provider had its message.
pub const UNKNOWN_OUTCOME: &str = "The campaign worker stopped after handing this message to the provider: whether it went out is unknown, so it is not sent again";

/// A claim whose process died: its message record says what happened. No record: the
/// provider was never called (the send flow records the message before calling it), so
/// the recipient is queued again. `pending`: the provider may have it; it is marked failed
/// and not sent again (a duplicate is worse than a gap). Otherwise the message's outcome.
async fn settle_dead_claim(
    state: &AppState,
    c: &Campaign,
    r: &Recipient,
) -> Result<Settled, CampaignError> {
    let store = &state.store;
    let Some(mid) = r.message_id.as_deref() else {
        return Ok(Settled::Skipped);
    };
    let at = state.clock.now();
    let sk = r.sk();
    let outcome = match store.get_message(&c.tenant_id, mid).await? {
        None => {
            return Ok(
                if store
                    .release_recipient(&c.tenant_id, &c.id, &sk, mid, at)
                    .await?
                {
                    tracing::warn!(campaign_id = %c.id, recipient = %sk, "dead claim released: nothing was sent");
                    Settled::Requeue
                } else {
                    Settled::Skipped
                },
            );
        }
        Some(m) => match m.status {
            MessageStatus::Pending => Outcome::Failed {
                error: UNKNOWN_OUTCOME.to_string(),
                code: None,
            },
            MessageStatus::Failed => Outcome::Failed {
                error: m
                    .error
                    .unwrap_or_else(|| "The message could not be sent".into()),
                code: m.error_code,
            },
            _ => Outcome::Sent {
                wa_message_id: m.wa_message_id,
            },
        },
    };
    let recorded = store
        .record_recipient_outcome(&c.tenant_id, &c.id, &sk, mid, &outcome, at)
        .await?;
    if recorded {
        tracing::warn!(campaign_id = %c.id, recipient = %sk, ?outcome, "dead claim settled from its message");
    }
    Ok(if recorded {
        Settled::Recorded
    } else {
        Settled::Skipped
    })
}
