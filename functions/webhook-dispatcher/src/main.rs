use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wati_shared::AppState;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = AppState::from_env().await?;
    let dispatcher = Arc::new(fn_webhook_dispatcher::Dispatcher::new(state)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let dispatcher = dispatcher.clone();
        async move { Ok::<SqsBatchResponse, Error>(dispatcher.handle(event.payload).await) }
    }))
    .await
}
