//! API Gateway (HTTP API, payload 2.0) events in, the Router's answers out: what
//! `lambda_http::run` does, without its response conversion, which decodes every text body
//! by its declared charset and so linked `encoding_rs`'s tables of every legacy encoding into
//! each function. Bodies here are UTF-8 (the API answers JSON, CSV and plain text).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use axum::Router;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};
use lambda_http::request::LambdaRequest;
use lambda_http::RequestExt;
use lambda_runtime::{Error, LambdaEvent};
use tower::ServiceExt;

/// Serves `router` until the runtime stops.
pub async fn run(router: Router) -> Result<(), Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<LambdaRequest>| {
            let router = router.clone();
            async move { answer(router, event).await }
        },
    ))
    .await
}

/// One event through `router`: the answer the function hands back to Lambda.
pub async fn answer(
    router: Router,
    event: LambdaEvent<LambdaRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let LambdaEvent { payload, context } = event;
    let mut request: lambda_http::Request = payload.into();
    if let Some(trace) = context.xray_trace_id.as_deref() {
        if let Ok(value) = HeaderValue::from_str(trace) {
            request
                .headers_mut()
                .insert(HeaderName::from_static("x-amzn-trace-id"), value);
        }
    }
    let request = request.with_lambda_context(context);
    let response = router.oneshot(request).await?;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await?;
    Ok(to_api_gateway(
        parts.status.as_u16(),
        parts.headers,
        bytes.to_vec(),
    ))
}

/// Whether API Gateway gets the body as text (else base64), as `lambda_http` decides it.
fn is_text(headers: &HeaderMap) -> bool {
    if headers.contains_key(CONTENT_ENCODING) {
        return false;
    }
    let Some(content_type) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    let content_type = content_type.to_str().unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    [
        "text",
        "application/json",
        "application/javascript",
        "application/xml",
        "application/yaml",
    ]
    .iter()
    .any(|p| content_type.starts_with(p))
        || ["+xml", "+yaml", "+json"].iter().any(|s| mime.ends_with(s))
}

/// The HTTP API's response: `Set-Cookie` headers in `cookies` (payload 2.0 wants them
/// there), a text body as is, anything else base64.
fn to_api_gateway(status: u16, mut headers: HeaderMap, body: Vec<u8>) -> ApiGatewayV2httpResponse {
    let cookies = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect();
    headers.remove(SET_COOKIE);
    let (body, is_base64_encoded) = if is_text(&headers) {
        let text = match String::from_utf8(body) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        (Some(Body::Text(text)), false)
    } else {
        (Some(Body::Binary(body)), true)
    };
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers = headers;
    response.cookies = cookies;
    response.body = body;
    response.is_base64_encoded = is_base64_encoded;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).expect("a value"),
            );
        }
        h
    }

    #[test]
    fn json_is_text_and_cookies_move_out_of_the_headers() {
        let r = to_api_gateway(
            200,
            headers(&[
                ("content-type", "application/json"),
                ("set-cookie", "a=1; HttpOnly"),
                ("set-cookie", "b=2"),
            ]),
            br#"{"ok":true}"#.to_vec(),
        );
        assert_eq!(r.status_code, 200);
        assert!(!r.is_base64_encoded);
        assert!(matches!(r.body, Some(Body::Text(ref t)) if t == r#"{"ok":true}"#));
        assert_eq!(
            r.cookies,
            vec!["a=1; HttpOnly".to_string(), "b=2".to_string()]
        );
        assert!(r.headers.get(SET_COOKIE).is_none());
        assert_eq!(r.headers["content-type"], "application/json");
    }

    #[test]
    fn csv_problem_json_and_untyped_bodies_are_text_and_binary_is_base64() {
        for ct in ["text/csv; charset=utf-8", "application/problem+json"] {
            assert!(is_text(&headers(&[("content-type", ct)])), "{ct}");
        }
        assert!(is_text(&HeaderMap::new()));
        assert!(!is_text(&headers(&[("content-type", "image/png")])));
        assert!(!is_text(&headers(&[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ])));
        let r = to_api_gateway(200, headers(&[("content-type", "image/png")]), vec![0, 159]);
        assert!(r.is_base64_encoded);
        assert!(matches!(r.body, Some(Body::Binary(ref b)) if b == &vec![0, 159]));
    }
}
