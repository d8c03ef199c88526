//! `contacts-sweep`: the EventBridge-scheduled Lambda that finishes deleting large lists.

#[tokio::main]
async fn main() -> Result<(), wati_shared::lambda::Error> {
    wati_shared::lambda::run(fn_contacts::sweep::handler).await
}
