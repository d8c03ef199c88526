#[tokio::main]
async fn main() -> Result<(), wati_shared::lambda::Error> {
    wati_shared::lambda::run(fn_cloud_api_webhook::handler).await
}
