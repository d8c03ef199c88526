//! `contacts-sweep`: the EventBridge-scheduled Lambda that finishes deleting large lists.

use lambda_runtime::{service_fn, LambdaEvent};
use wati_shared::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let state = AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            fn_contacts::sweep::run(state)
                .await
                .map(|r| {
                    serde_json::json!({
                        "listsFinished": r.lists_finished,
                        "membersRemoved": r.members_removed,
                        "listsPending": r.lists_pending,
                    })
                })
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
