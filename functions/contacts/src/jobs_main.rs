//! `contacts-jobs`: the SQS-triggered Lambda that imports CSV chunks and writes exports.

#[tokio::main]
async fn main() -> Result<(), wati_shared::lambda::Error> {
    wati_shared::lambda::run(fn_contacts::worker::handler).await
}
