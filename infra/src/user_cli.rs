//! `wati-admin user …`: users from the terminal, super admins included (the only way to
//! make one). Prints JSON; a generated password appears once, as `password`.

use crate::admin_cli::{page_params, pretty};
use serde_json::json;
use std::collections::HashMap;
use wati_shared::services::auth::users;
use wati_shared::AppState;

pub async fn run(
    state: &AppState,
    flags: &HashMap<String, String>,
    words: &[&str],
    usage: &str,
) -> Result<String, String> {
    let email = || {
        flags
            .get("email")
            .ok_or_else(|| format!("--email is required\n\n{usage}"))
    };
    let password = flags.get("password").cloned();
    let shown = |w: users::WithPassword| {
        let mut v = json!({ "user": w.user });
        if let Some(p) = w.password {
            v["password"] = json!(p);
        }
        pretty(&v)
    };
    match words {
        ["create"] => {
            let super_admin = flags.get("super-admin").is_some();
            let name = flags.get("name").map(String::as_str);
            let created = users::create(state, email()?, name, password, super_admin).await;
            shown(created.map_err(|e| e.to_string())?)
        }
        ["reset-password"] => {
            let reset = users::set_password(state, email()?, password).await;
            shown(reset.map_err(|e| e.to_string())?)
        }
        ["list"] => {
            let page = page_params(flags)?;
            let limit = page.limit().map_err(|e| e.message)?;
            let (users, next) = state
                .store
                .list_users(limit, page.cursor.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            pretty(&json!({ "users": users, "nextCursor": next }))
        }
        _ => Err(usage.to_string()),
    }
}
