//! `wati-admin`: see `wati_infra::admin_cli` for the commands.

use wati_infra::admin_cli::{run, USAGE};
use wati_shared::AppState;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let result = match AppState::from_env().await {
        Ok(state) => run(&state, &args).await,
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("wati-admin: {e}");
            std::process::exit(2);
        }
    }
}
