use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use wati_shared::AppState;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let state = AppState::from_env().await?;
    let worker = Arc::new(fn_inbound_worker::Worker::new(state));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = worker.clone();
        async move { Ok::<_, Error>(worker.handle(event.payload).await) }
    }))
    .await
}
