//! Queueing the next batch: one page of the audience, its recipients written as `queued`
//! with the campaign's counters, cursor and pacing in one transaction, then one SQS message
//! per recipient with an increasing `DelaySeconds`.

use super::advance::{pause, Step, Turn};
use super::{
    in_flight, ms_time, Advance, BatchInfo, CampaignError, SendTask, Trigger,
    CHECK_AFTER_BATCH_SECS,
};
use crate::adapters::queues::{self, Outgoing};
use crate::domain::campaigns::{
    plan_batch, recipient_content, ChunkCursor, Entry, PauseReason, RecipientContent,
    RecipientStatus, MAX_SQS_DELAY_SECS,
};
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::quota::{cap_for, limit_reached_message, next_midnight, Limit};
use crate::domain::time::iso;
use crate::runtime::state::AppState;
use crate::store::campaigns::{Audience, Campaign, Due, NewBatch, Recipient};
use crate::store::contacts::{AudienceMember, AudiencePage};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};

/// A suspended tenant's campaign is looked at again after this long.
const SUSPENDED_RECHECK_SECS: i64 = 600;

/// The tenant's plan, limits and suspension, and how many outbound units are left today.
pub(super) struct TenantLimits {
    plan: Plan,
    limits: LimitOverrides,
    pub(super) suspended: bool,
    remaining: Option<u32>,
    cap: Option<u32>,
}

pub(super) async fn tenant_limits(
    state: &AppState,
    c: &Campaign,
    now: DateTime<Utc>,
) -> Result<TenantLimits, CampaignError> {
    let (tenant, usage) = tokio::join!(
        state.store.get_tenant(&c.tenant_id),
        state.store.usage(&c.tenant_id, now)
    );
    let Some(tenant) = tenant? else {
        return Ok(TenantLimits {
            plan: Plan::Free,
            limits: LimitOverrides::default(),
            suspended: true,
            remaining: Some(0),
            cap: Some(0),
        });
    };
    let used = usage?.get(&Limit::MessagesPerDay).copied().unwrap_or(0);
    let cap = cap_for(tenant.plan, &tenant.limits, Limit::MessagesPerDay);
    Ok(TenantLimits {
        plan: tenant.plan,
        limits: tenant.limits,
        suspended: tenant.suspended,
        remaining: cap.map(|cap| cap.saturating_sub(used)),
        cap,
    })
}

fn daily_limit_message(tenant: &TenantLimits) -> String {
    let cap = tenant.cap.unwrap_or(0);
    format!(
        "{}: the campaign resumes by itself at 00:00 UTC",
        limit_reached_message(Limit::MessagesPerDay, cap, tenant.plan)
    )
}

/// One page of the audience: at most `size` members from the campaign's cursor, the
/// cursor after them, and whether the audience ends there.
async fn read_audience(
    state: &AppState,
    c: &Campaign,
    size: usize,
) -> Result<(Vec<AudienceMember>, Option<String>, bool), CampaignError> {
    let store = &state.store;
    match &c.audience {
        Audience::Recipients => {
            let mut cur = c
                .cursor
                .as_deref()
                .and_then(ChunkCursor::parse)
                .unwrap_or_default();
            let mut members = Vec::with_capacity(size);
            while members.len() < size && cur.chunk < c.chunks {
                let entries = store.campaign_chunk(&c.tenant_id, &c.id, cur.chunk).await?;
                let from = cur.offset as usize;
                let take = (size - members.len()).min(entries.len().saturating_sub(from));
                members.extend(entries.iter().skip(from).take(take).map(|e: &Entry| {
                    AudienceMember {
                        contact_id: String::new(),
                        name: e.name.clone(),
                        phone: e.phone.clone(),
                    }
                }));
                cur.offset += take as u32;
                if cur.offset as usize >= entries.len() {
                    cur = ChunkCursor {
                        chunk: cur.chunk + 1,
                        offset: 0,
                    };
                }
            }
            let done = cur.chunk >= c.chunks;
            Ok((members, (!done).then(|| cur.to_string()), done))
        }
        Audience::Tag { tag } => {
            first_members(c.cursor.clone(), |cursor| async move {
                store
                    .contacts_page_by_tag(&c.tenant_id, tag, cursor.as_deref(), size as i32)
                    .await
            })
            .await
        }
        Audience::ContactList { contact_list_id } => {
            // A deleted list ends the campaign's audience (its members may still be listed
            // until the list's clean-up is done).
            if store
                .get_contact_list(&c.tenant_id, contact_list_id)
                .await?
                .is_none()
            {
                return Ok((Vec::new(), None, true));
            }
            first_members(c.cursor.clone(), |cursor| async move {
                store
                    .list_members_page(
                        &c.tenant_id,
                        contact_list_id,
                        cursor.as_deref(),
                        size as i32,
                    )
                    .await
            })
            .await
        }
    }
}

/// The next members of a paged audience (a tag, a list) from `cursor`: a page can come back
/// empty with a cursor (the previous one ended exactly at the last member), so up to three
/// pages are read until one has members or the audience ends.
async fn first_members<F, Fut>(
    mut cursor: Option<String>,
    read: F,
) -> Result<(Vec<AudienceMember>, Option<String>, bool), CampaignError>
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = StoreResult<AudiencePage>>,
{
    for _ in 0..3 {
        let page = read(cursor).await?;
        let done = page.next_cursor.is_none();
        if !page.members.is_empty() || done {
            return Ok((page.members, page.next_cursor, done));
        }
        cursor = page.next_cursor;
    }
    Ok((Vec::new(), cursor, false))
}

pub(super) async fn queue_batch(turn: Turn<'_>) -> Result<Step, CampaignError> {
    let Turn {
        state,
        campaign: c,
        trigger,
        now,
    } = turn;
    let now_ms = now.timestamp_millis();
    let store = &state.store;
    if state.config.queues.campaigns.is_none() {
        return Err(CampaignError::NoQueue);
    }
    let tenant = tenant_limits(state, c, now).await?;
    if tenant.suspended {
        if trigger == Trigger::Scheduler {
            store
                .set_campaign_due(
                    &c.tenant_id,
                    &c.id,
                    Due::At(now.timestamp() + SUSPENDED_RECHECK_SECS),
                )
                .await?;
        }
        return Ok(Step::Done(Advance::Suspended));
    }
    if tenant.remaining == Some(0) {
        let message = daily_limit_message(&tenant);
        pause(
            state,
            &c.tenant_id,
            &c.id,
            PauseReason::DailyLimit,
            &message,
        )
        .await?;
        return Ok(Step::Done(Advance::Paused {
            reason: PauseReason::DailyLimit,
            message,
            resumes_at: Some(iso(next_midnight(now))),
            now: true,
        }));
    }
    let wanted = state
        .config
        .campaigns
        .batch_size
        .min(tenant.remaining.map_or(usize::MAX, |r| r as usize));
    let plan = plan_batch(now_ms, c.next_send_at_ms, c.delay_seconds, wanted);
    if plan.delays.is_empty() {
        let at = plan.next_send_at_ms / 1000 - MAX_SQS_DELAY_SECS + 1;
        if trigger == Trigger::Scheduler {
            store
                .set_campaign_due(&c.tenant_id, &c.id, Due::At(at))
                .await?;
        }
        return Ok(Step::Done(Advance::Waiting {
            next_send_at: ms_time(plan.next_send_at_ms).map(iso).unwrap_or_default(),
        }));
    }
    let (members, cursor, done) = read_audience(state, c, plan.delays.len()).await?;
    if members.is_empty() {
        if !done {
            // Empty pages in a row: try again on the next call.
            return Ok(Step::Done(Advance::InFlight(in_flight(c))));
        }
        // The audience ended exactly at the previous batch.
        store
            .end_campaign_audience(&c.tenant_id, &c.id, c.batch, now)
            .await?;
        return Ok(Step::Again);
    }

    // Recipients that can be sent get the plan's slots in order; one whose message would
    // be too long with its name (or whose template variable would be empty) is recorded as
    // failed at once.
    let batch_no = c.batch + 1;
    let at = now;
    let contents: Vec<_> = members
        .iter()
        .map(|m| recipient_content(&c.message, c.template.as_ref(), &m.name, &m.phone))
        .collect();
    let sendable = contents.iter().filter(|t| t.is_ok()).count();
    let plan = plan_batch(now_ms, c.next_send_at_ms, c.delay_seconds, sendable);
    let mut slots = plan.due_ms.iter().copied();
    let mut recipients = Vec::with_capacity(members.len());
    let mut tasks = Vec::with_capacity(sendable);
    let mut delays = plan.delays.iter().copied();
    for (i, (m, content)) in members.iter().zip(contents).enumerate() {
        let mut r = Recipient {
            batch: batch_no,
            index: i as u32,
            phone: m.phone.clone(),
            name: m.name.clone(),
            contact_id: (!m.contact_id.is_empty()).then(|| m.contact_id.clone()),
            status: RecipientStatus::Queued,
            message_id: None,
            claimed_at_ms: None,
            attempts: 0,
            wa_message_id: None,
            error: None,
            error_code: None,
            due_ms: None,
            queued_at: now,
            updated_at: now,
            sent_at: None,
            failed_at: None,
        };
        match content {
            Ok(content) => {
                let due = slots.next().unwrap_or(now_ms);
                r.due_ms = Some(due);
                tasks.push((
                    delays.next().unwrap_or(0),
                    task(c, &tenant, &r, content, due),
                ));
            }
            Err(e) => {
                r.status = RecipientStatus::Failed;
                r.error = Some(e);
                r.failed_at = Some(now);
            }
        }
        recipients.push(r);
    }
    let k = recipients.len() as u64;
    let first_due = plan.due_ms.first().copied().unwrap_or(now_ms);
    let last_due = plan.due_ms.last().copied().unwrap_or(now_ms);
    let next_send_at_ms = if plan.due_ms.is_empty() {
        c.next_send_at_ms
    } else {
        plan.next_send_at_ms
    };
    let from_array = c.audience == Audience::Recipients;
    let committed = store
        .commit_batch(NewBatch {
            campaign: c,
            recipients,
            cursor: cursor.clone(),
            source_done: done,
            new_total: if from_array { 0 } else { k },
            from_pending: if from_array { k } else { 0 },
            first_due_ms: first_due,
            last_due_ms: last_due,
            next_send_at_ms,
            due_at: last_due / 1000 + CHECK_AFTER_BATCH_SECS,
            now: at,
        })
        .await?;
    if !committed {
        return Ok(Step::Again);
    }
    let info = BatchInfo {
        number: batch_no,
        size: k as u32,
        queued: tasks.len() as u64,
        first_send_at: ms_time(first_due),
        last_send_at: ms_time(last_due),
    };
    tracing::info!(
        campaign_id = %c.id,
        tenant_id = %c.tenant_id,
        batch = batch_no,
        size = k,
        queued = tasks.len(),
        last_due = %info.last_send_at.unwrap_or_default(),
        ?trigger,
        "campaign batch queued"
    );
    if tasks.is_empty() {
        // Every recipient of the page failed before sending: on to the next page.
        return Ok(Step::Again);
    }
    if let Err(e) = enqueue(state, &tasks).await {
        // The recipients are recorded as queued: the scheduler queues them again once the
        // batch is overdue (STALE_BATCH_SECS). Nothing is lost, only delayed.
        tracing::error!(campaign_id = %c.id, error = %e, "queueing a batch's messages failed; the scheduler will queue them again");
    }
    Ok(Step::Done(Advance::Queued(info)))
}

pub(super) fn task(
    c: &Campaign,
    tenant: &TenantLimits,
    r: &Recipient,
    content: RecipientContent,
    due_ms: i64,
) -> SendTask {
    SendTask {
        tenant_id: c.tenant_id.clone(),
        campaign_id: c.id.clone(),
        campaign_name: c.name.clone(),
        recipient: r.sk(),
        to: r.phone.clone(),
        text: content.text,
        template: content.template,
        device_id: c.device_id.clone(),
        plan: tenant.plan,
        limits: tenant.limits,
        key_id: c.api_key_id.clone(),
        due_ms,
    }
}

/// Puts the tasks on the campaign queue, ten per call, each with its delay.
pub(super) async fn enqueue(
    state: &AppState,
    tasks: &[(i32, SendTask)],
) -> Result<(), CampaignError> {
    let url = state
        .config
        .queues
        .campaigns
        .as_deref()
        .ok_or(CampaignError::NoQueue)?;
    let outgoing: Vec<_> = tasks
        .iter()
        .map(|(delay, task)| Outgoing {
            body: task,
            delay_secs: u32::try_from(*delay).unwrap_or(0),
        })
        .collect();
    queues::send_all(&state.aws.sqs, url, &outgoing)
        .await
        .map_err(|e| CampaignError::Queue(e.to_string()))
}
