//! The sandbox worker: records the `delivered` and `read` statuses the sandbox provider
//! scheduled on its queue (SQS-triggered, partial batch failures). A status that arrives
//! while its message is still `pending` (its send has not recorded `sent` yet) is left on
//! the queue to come back; duplicates and stale statuses change nothing.

use wati_shared::services::inbound::statuses;

wati_shared::sqs_function!("sandbox-worker", "a sandbox status", statuses::sandbox);
