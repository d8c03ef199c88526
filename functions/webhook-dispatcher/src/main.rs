#[tokio::main]
async fn main() -> Result<(), wati_shared::lambda::Error> {
    wati_shared::lambda::run(fn_webhook_dispatcher::handler).await
}
