//! The dashboard's built files (`dashboard/dist`) served by the dev server at `/`, as
//! CloudFront serves them from S3 in AWS: the API keeps `/api/*` and `/health`; any other
//! GET is a file, or `index.html` for the app's own paths (its router takes them).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};

/// Which file answers `path` under `root`: `None` for a path that is not the dashboard's
/// (the API's, or one that tries to leave the folder).
pub fn file_for(root: &Path, path: &str) -> Option<(PathBuf, bool)> {
    if path == "/health" || path == "/api" || path.starts_with("/api/") {
        return None;
    }
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|seg| seg == ".." || seg.contains('\\')) {
        return None;
    }
    let looks_like_file = rel
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    if rel.is_empty() || !looks_like_file {
        // An app route (`/settings/keys`): the app's shell, never cached.
        return Some((root.join("index.html"), true));
    }
    Some((root.join(rel), false))
}

/// `Content-Type` by extension, for the kinds of file a Vite build writes.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves one file; a missing asset is a plain 404, a missing build says how to make it.
pub async fn serve(root: &Path, path: &str) -> Option<Response> {
    let (file, shell) = file_for(root, path)?;
    let bytes = match tokio::fs::read(&file).await {
        Ok(b) => b,
        Err(_) if shell => {
            let msg = "The dashboard is not built: run `make dashboard` (make dev does it).";
            return Some((StatusCode::NOT_FOUND, msg).into_response());
        }
        Err(_) => return Some(StatusCode::NOT_FOUND.into_response()),
    };
    // Vite's hashed files never change; the shell must always be fetched afresh.
    let cache = if shell || !path.starts_with("/assets/") {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Some(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_not_the_dashboards() {
        let root = Path::new("/d");
        assert_eq!(file_for(root, "/api/keys"), None);
        assert_eq!(file_for(root, "/api"), None);
        assert_eq!(file_for(root, "/health"), None);
        assert_eq!(file_for(root, "/../etc/passwd"), None);
        assert_eq!(file_for(root, "/assets/../../x.js"), None);
    }

    #[test]
    fn app_routes_get_the_shell_and_files_themselves() {
        let root = Path::new("/d");
        assert_eq!(file_for(root, "/"), Some((root.join("index.html"), true)));
        assert_eq!(
            file_for(root, "/settings/keys"),
            Some((root.join("index.html"), true))
        );
        assert_eq!(
            file_for(root, "/assets/index-abc.js"),
            Some((root.join("assets/index-abc.js"), false))
        );
        assert_eq!(
            content_type(Path::new("a.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.bin")), "application/octet-stream");
    }
}
