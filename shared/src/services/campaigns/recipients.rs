//! `GET …/recipients`: the recipients queued so far, then the stored array's entries not
//! queued yet, behind one opaque cursor.

use super::CampaignError;
use crate::domain::campaigns::{CampaignStatus, ChunkCursor, Entry, RecipientStatus};
use crate::runtime::state::AppState;
use crate::store::campaigns::{Audience, Campaign, Recipient};
use crate::store::StoreError;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// One row of `GET …/recipients`: a recipient that was queued, or an entry of the stored
/// array not queued yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Listed {
    Recipient(Box<Recipient>),
    Pending {
        entry: Entry,
        status: RecipientStatus,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct RecipientCursor {
    /// Queued recipients: the last key shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<String>,
    /// The stored array's entries not queued yet: the position of the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
}

fn encode_cursor(c: &RecipientCursor) -> Option<String> {
    serde_json::to_vec(c)
        .ok()
        .map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

fn decode_cursor(raw: &str) -> Result<RecipientCursor, StoreError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .map_err(|_| StoreError::BadCursor)?;
    let c: RecipientCursor = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    let ok = match (&c.r, &c.s) {
        (Some(r), None) => r.starts_with(crate::store::keys::RECIPIENT_PREFIX) && r.len() <= 64,
        (None, Some(s)) => ChunkCursor::parse(s).is_some(),
        _ => false,
    };
    ok.then_some(c).ok_or(StoreError::BadCursor)
}

/// A page of a campaign's recipients: those queued so far in queueing order, then (for a
/// stored array) the entries not queued yet, as `pending` (`cancelled` once the campaign
/// is). A tag or list audience is read at run time: its members appear as their batches
/// are queued.
pub async fn recipients_page(
    state: &AppState,
    c: &Campaign,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Listed>, Option<String>), CampaignError> {
    let store = &state.store;
    let position = cursor.map(decode_cursor).transpose()?;
    let mut rows = Vec::with_capacity(limit);
    let mut pending_from = match &position {
        Some(RecipientCursor { s: Some(s), .. }) => ChunkCursor::parse(s),
        _ => None,
    };
    if pending_from.is_none() {
        let after = position.as_ref().and_then(|p| p.r.clone());
        let (found, last) = store
            .list_recipients(&c.tenant_id, &c.id, after.as_deref(), limit as i32)
            .await?;
        let last_shown = found.last().map(Recipient::sk);
        rows.extend(found.into_iter().map(|r| Listed::Recipient(Box::new(r))));
        if last.is_some() && rows.len() >= limit {
            let next = encode_cursor(&RecipientCursor {
                r: last_shown,
                s: None,
            });
            return Ok((rows, next));
        }
        if c.audience != Audience::Recipients || c.source_done {
            return Ok((rows, None));
        }
        pending_from = Some(
            c.cursor
                .as_deref()
                .and_then(ChunkCursor::parse)
                .unwrap_or_default(),
        );
    }
    let status = if c.status == CampaignStatus::Cancelled {
        RecipientStatus::Cancelled
    } else {
        RecipientStatus::Pending
    };
    let mut cur = pending_from.unwrap_or_default();
    while rows.len() < limit && cur.chunk < c.chunks {
        let entries = store.campaign_chunk(&c.tenant_id, &c.id, cur.chunk).await?;
        let len = entries.len();
        let from = cur.offset as usize;
        let take = (limit - rows.len()).min(len.saturating_sub(from));
        rows.extend(
            entries
                .into_iter()
                .skip(from)
                .take(take)
                .map(|entry| Listed::Pending { entry, status }),
        );
        cur.offset += take as u32;
        if cur.offset as usize >= len {
            cur = ChunkCursor {
                chunk: cur.chunk + 1,
                offset: 0,
            };
        }
    }
    let next = (cur.chunk < c.chunks).then(|| {
        encode_cursor(&RecipientCursor {
            r: None,
            s: Some(cur.to_string()),
        })
    });
    Ok((rows, next.flatten()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_cursors_round_trip_and_refuse_anything_else() {
        let c = RecipientCursor {
            r: Some("R#000003#07".into()),
            s: None,
        };
        let encoded = encode_cursor(&c).unwrap_or_default();
        let back = decode_cursor(&encoded).ok().and_then(|c| c.r);
        assert_eq!(back.as_deref(), Some("R#000003#07"));
        let c = RecipientCursor {
            r: None,
            s: Some("2:17".into()),
        };
        let back = decode_cursor(&encode_cursor(&c).unwrap_or_default())
            .ok()
            .and_then(|c| c.s);
        assert_eq!(back.as_deref(), Some("2:17"));
        for bad in [
            RecipientCursor {
                r: Some("CAMPAIGN#x".into()),
                s: None,
            },
            RecipientCursor {
                r: None,
                s: Some("x".into()),
            },
            RecipientCursor { r: None, s: None },
            RecipientCursor {
                r: Some("R#1".into()),
                s: Some("1:1".into()),
            },
        ] {
            let encoded = encode_cursor(&bad).unwrap_or_default();
            assert!(matches!(
                decode_cursor(&encoded),
                Err(StoreError::BadCursor)
            ));
        }
        assert!(matches!(
            decode_cursor("not base64!"),
            Err(StoreError::BadCursor)
        ));
    }
}
