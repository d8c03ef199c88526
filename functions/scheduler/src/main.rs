//! `scheduler`: fired by EventBridge rules, every minute (`{"job":"minute"}`) and at
//! 00:00 UTC (`{"job":"daily"}`).

use lambda_runtime::{service_fn, LambdaEvent};
use wati_shared::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let state = AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            fn_scheduler::run(state, &event.payload)
                .await
                .map(|report| serde_json::to_value(report).unwrap_or_default())
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
