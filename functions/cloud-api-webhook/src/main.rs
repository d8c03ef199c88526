use wati_shared::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let state = AppState::from_env().await?;
    lambda_http::run(fn_cloud_api_webhook::router(state)).await
}
