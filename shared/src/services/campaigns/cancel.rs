//! Cancelling a campaign: nothing more is queued or claimed, and what was not sent yet
//! becomes `cancelled`.

use super::{CampaignError, Lost, MAX_STEPS};
use crate::domain::campaigns::{CampaignStatus, RecipientStatus};
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::store::campaigns::Campaign;
use crate::store::StoreError;

/// How a cancel request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancel {
    Cancelled(Box<Campaign>),
    AlreadyFinished(CampaignStatus),
    NotFound,
}

/// Cancels a scheduled, running or paused campaign: nothing more is queued or claimed;
/// recipients never queued and those queued and not yet claimed become `cancelled`; a
/// recipient already being sent finishes as `sent` or `failed`.
pub async fn cancel(state: &AppState, tenant_id: &str, id: &str) -> Result<Cancel, CampaignError> {
    retry(Backoff::new(MAX_STEPS as u32), |_| async {
        match try_cancel(state, tenant_id, id).await? {
            Some(done) => Ok(done),
            // Someone else moved the campaign between the read and the write: read again.
            None => Err(Retry::Again(CampaignError::Store(StoreError::Contention(
                "cancel campaign",
            )))),
        }
    })
    .await
}

/// One attempt: `None` when the campaign moved under it.
async fn try_cancel(
    state: &AppState,
    tenant_id: &str,
    id: &str,
) -> Result<Option<Cancel>, CampaignError> {
    let store = &state.store;
    let Some(c) = store.get_campaign(tenant_id, id).await? else {
        return Ok(Some(Cancel::NotFound));
    };
    if c.status.is_finished() {
        return Ok(Some(Cancel::AlreadyFinished(c.status)));
    }
    let now = state.clock.now();
    if !store.cancel_campaign(tenant_id, id, now).await? {
        return Ok(None);
    }
    tracing::info!(campaign_id = id, tenant_id, "campaign cancelled");
    if c.queued > 0 {
        settle_cancelled(state, tenant_id, id, c.batch).await?;
    }
    let c = store.get_campaign(tenant_id, id).await?;
    Ok(Some(c.map_or(Cancel::NotFound, |c| {
        Cancel::Cancelled(Box::new(c))
    })))
}

/// Marks a cancelled campaign's `queued` recipients of `batch` `cancelled` (one
/// transaction; redone with what is left when a worker got one first).
async fn settle_cancelled(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    batch: u32,
) -> Result<(), CampaignError> {
    let store = &state.store;
    let settled = retry(Backoff::new(3), |_| async {
        let queued: Vec<String> = store
            .batch_recipients(tenant_id, id, batch)
            .await
            .map_err(Lost::Failed)?
            .into_iter()
            .filter(|r| r.status == RecipientStatus::Queued)
            .map(|r| r.sk())
            .collect();
        let now = state.clock.now();
        if store
            .cancel_recipients(tenant_id, id, &queued, now)
            .await
            .map_err(Lost::Failed)?
        {
            Ok(())
        } else {
            Err(Retry::Again(Lost::Race))
        }
    })
    .await;
    match settled {
        Ok(()) => Ok(()),
        Err(Lost::Race) => {
            tracing::warn!(
                campaign_id = id,
                "some queued recipients could not be cancelled yet; their messages settle them"
            );
            Ok(())
        }
        Err(Lost::Failed(e)) => Err(e.into()),
    }
}
