//! Consent, decided before keyword rules and AI Smart Reply: a customer message that is one
//! of the tenant's opt-out words opts the customer out (the contact created if needed), is
//! confirmed once and publishes `contact.opted_out`; an opt-in word from an opted-out
//! customer opts them back in (`contact.opted_in`). Neither is ever answered by a rule or
//! the AI, and nothing from an opted-out customer is. See `docs/consent.md`.
//!
//! At most once: the change records the customer message's id on the contact, the
//! confirmation is sent with an idempotency key derived from it, and the event's id is
//! derived from it, so a job taken over after a crash finishes what the first attempt began
//! without a second confirmation or event.

use super::answer::{detail, ReplySent, INTERNAL_ERROR};
use super::record::{Recorded, IDEMPOTENT_CALL};
use super::Inbound;
use crate::domain::analytics::CountsAs;
use crate::domain::consent::{ConsentSource, ConsentWord};
use crate::domain::contacts::ConsentChange;
use crate::domain::webhooks::{ContactConsent, WebhookEvent};
use crate::runtime::retry::{retry, Retry};
use crate::services::events::{self, PublishError};
use crate::services::sending::ConsentCheck;
use crate::store::auto_replies::ReplyOutcome;
use crate::store::contacts::{ConsentOutcome, Contact};
use crate::store::messages::MessageSource;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("recording the consent change failed: {0}")]
    Store(#[from] StoreError),
    #[error("publishing the consent event failed: {0}")]
    Event(#[from] PublishError),
}

/// Whether the message still goes to the keyword rules and the AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentStep {
    Continue,
    /// Consent decided it: no rule or AI answers this message.
    Handled,
}

impl Inbound {
    /// Step 4a. An error fails the job (SQS brings it back and a later attempt takes over):
    /// an opt-out must not be lost.
    pub(super) async fn consent(&self, recorded: &Recorded) -> Result<ConsentStep, ConsentError> {
        let Recorded {
            ctx,
            content,
            message,
            now,
            ..
        } = recorded;
        if ctx.tenant.is_none() {
            return Ok(ConsentStep::Continue);
        }
        let opted_out = ctx.contact.as_ref().is_some_and(|c| c.opted_out);
        let word = if content.kind.answerable() {
            ctx.opt_out.classify(content.match_text())
        } else {
            None
        };
        let Some(word) = word else {
            if opted_out {
                tracing::info!("the customer opted out: no automatic reply");
                self.consent_log(recorded, ReplyOutcome::OptedOutNoReply, None)
                    .await;
                return Ok(ConsentStep::Handled);
            }
            return Ok(ConsentStep::Continue);
        };
        let change = ConsentChange {
            opted_out: word == ConsentWord::OptOut,
            source: ConsentSource::Message,
            reference: Some(message.id.clone()),
        };
        let outcome = self
            .state
            .store
            .set_consent_by_phone(&message.tenant_id, &message.peer, &change, *now)
            .await?;
        let contact = match outcome {
            ConsentOutcome::Changed(c)
            | ConsentOutcome::Unchanged {
                contact: c,
                same_reference: true,
            } => c,
            ConsentOutcome::Unchanged { .. } if word == ConsentWord::OptOut => {
                tracing::info!("opt-out word from a customer who had opted out already");
                let d = "The customer had opted out already: no second confirmation";
                self.consent_log(recorded, ReplyOutcome::OptedOut, Some(d.into()))
                    .await;
                return Ok(ConsentStep::Handled);
            }
            // An opt-in word from a customer who never opted out: an ordinary message.
            ConsentOutcome::Unchanged { .. } | ConsentOutcome::NoContact => {
                return Ok(ConsentStep::Continue)
            }
        };
        tracing::info!(contact_id = %contact.id, opted_out = change.opted_out, "consent changed by the customer");
        self.publish_consent(recorded, &contact, change.opted_out)
            .await?;
        let (text, key) = match word {
            ConsentWord::OptOut => (&ctx.opt_out.confirmation, format!("optout:{}", message.id)),
            ConsentWord::OptIn => (
                &ctx.opt_out.opt_in_confirmation,
                format!("optin:{}", message.id),
            ),
        };
        let outcome = match word {
            ConsentWord::OptOut => ReplyOutcome::OptedOut,
            ConsentWord::OptIn => ReplyOutcome::OptedIn,
        };
        let detail_text = self.confirm(recorded, text, &key).await;
        self.consent_log(recorded, outcome, detail_text).await;
        Ok(ConsentStep::Handled)
    }

    /// The confirmation, once (idempotency key); `Some(why)` when it did not go out.
    async fn confirm(&self, recorded: &Recorded, text: &str, key: &str) -> Option<String> {
        let Recorded {
            ctx,
            conversation,
            message,
            ..
        } = recorded;
        if text.is_empty() {
            return Some("No confirmation: the tenant's confirmation text is empty".into());
        }
        let (Some(tenant), Some(device)) = (&ctx.tenant, &ctx.device) else {
            return Some("No confirmation: the device is gone".into());
        };
        if tenant.suspended || !device.is_connected() {
            return Some(
                "No confirmation: the tenant is suspended or the device disconnected".into(),
            );
        }
        let sent = self
            .send_reply(
                tenant,
                &conversation.device_id,
                &message.peer,
                text,
                MessageSource::ConsentReply,
                key,
                ConsentCheck::Skip,
                CountsAs::Message,
            )
            .await;
        match sent {
            Ok(ReplySent::Sent) => None,
            Ok(ReplySent::Failed(e)) | Ok(ReplySent::CapReached(e)) | Ok(ReplySent::Refused(e)) => {
                Some(detail(&format!("Confirmation not sent: {e}")))
            }
            Err(e) => {
                tracing::error!(error = %e, "sending a consent confirmation failed");
                Some(detail(INTERNAL_ERROR))
            }
        }
    }

    async fn publish_consent(
        &self,
        recorded: &Recorded,
        contact: &Contact,
        opted_out: bool,
    ) -> Result<(), PublishError> {
        let Recorded {
            job,
            content,
            message,
            now,
            ..
        } = recorded;
        let body = ContactConsent {
            contact_id: contact.id.clone(),
            phone: contact.phone.clone(),
            source: ConsentSource::Message,
            device_id: Some(job.device_id.clone()),
            message_id: Some(content.wamid.clone()),
            timestamp: now.timestamp(),
        };
        let (event, key) = if opted_out {
            (
                WebhookEvent::ContactOptedOut(body),
                format!("opted_out:{}", message.id),
            )
        } else {
            (
                WebhookEvent::ContactOptedIn(body),
                format!("opted_in:{}", message.id),
            )
        };
        let (state, tenant_id) = (&self.state, &message.tenant_id);
        let (event, key) = (&event, key.as_str());
        retry(IDEMPOTENT_CALL, |_| async move {
            events::publish_with_key(state, tenant_id, event.clone(), key)
                .await
                .map(drop)
                .map_err(Retry::Again)
        })
        .await
    }

    async fn consent_log(&self, recorded: &Recorded, outcome: ReplyOutcome, d: Option<String>) {
        let Recorded {
            ctx,
            conversation,
            message,
            now,
            ..
        } = recorded;
        if let Some(tenant) = &ctx.tenant {
            self.log(
                tenant,
                conversation,
                &message.peer,
                "consent",
                outcome,
                d,
                *now,
            )
            .await;
        }
    }
}
