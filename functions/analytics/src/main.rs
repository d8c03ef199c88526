#[tokio::main]
async fn main() -> Result<(), wati_shared::lambda::Error> {
    wati_shared::lambda::run(fn_analytics::handler).await
}
