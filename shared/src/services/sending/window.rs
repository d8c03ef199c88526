//! WhatsApp's 24-hour customer service window in the send flow: through a Cloud API device,
//! a free-form message (text, media) may only go to a customer who wrote to that number in
//! the last 24 hours; outside it only an approved template may (Meta would refuse it with
//! #131047). The window is read in the send's first round, concurrently with the pending
//! record and the device lookup, so it adds a call but no round trip.

use crate::adapters::providers::{Content, ProviderError, ProviderErrorKind};
use crate::domain::devices::ProviderKind;
use crate::domain::inbound::{window_closed_message, window_open};
use crate::runtime::state::AppState;
use crate::store::devices::Device;
use crate::store::StoreResult;
use chrono::{DateTime, Utc};

/// Meta's code for a free-form message outside the 24-hour window.
pub const WINDOW_CLOSED_CODE: i64 = 131047;

/// The customer's conversations: each device's id and the customer's last message on it.
/// Every send reads them: for the window, and to know whether the message moves a
/// conversation's last message (`conversation::touch`).
pub type WindowRead = StoreResult<Vec<(String, Option<DateTime<Utc>>)>>;

/// Reads the customer's conversations for a send to `to`.
pub async fn read(state: &AppState, tenant_id: &str, to: &str) -> WindowRead {
    state.store.last_inbound_by_device(tenant_id, to).await
}

/// Refuses a free-form send through a Cloud API device outside the window, as Meta itself
/// would (#131047): the send flow records the refusal on the message like a provider's and
/// answers 422, without calling Meta. The sandbox has no window. If the window could not be
/// read, the send goes ahead: Meta enforces the window itself. A template has no window.
pub fn check(
    device: &Device,
    to: &str,
    content: &Content,
    read: &WindowRead,
    now: DateTime<Utc>,
) -> Result<(), ProviderError> {
    if device.provider != ProviderKind::CloudApi || matches!(content, Content::Template(_)) {
        return Ok(());
    }
    let seen = match read {
        Ok(seen) => seen,
        Err(e) => {
            tracing::warn!(error = %e, "the 24-hour window could not be read; Meta will enforce it");
            return Ok(());
        }
    };
    let last = seen
        .iter()
        .find(|(device_id, _)| *device_id == device.id)
        .and_then(|(_, at)| *at);
    if window_open(last, now) {
        Ok(())
    } else {
        Err(ProviderError::new(
            ProviderErrorKind::Refused,
            Some(WINDOW_CLOSED_CODE),
            window_closed_message(to, last),
        ))
    }
}
