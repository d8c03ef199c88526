use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use wati_shared::AppState;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = AppState::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, Error>(fn_campaign_worker::handle(&state, event.payload).await) }
    }))
    .await
}
