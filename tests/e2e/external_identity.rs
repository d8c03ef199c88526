//! JWTs from an outside identity provider (AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE),
//! checked against keys served by a local JWKS server.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use wati_tests::serve::{serve, Served};
use wati_tests::*;

const ISSUER: &str = "https://id.example/auth/v1";
const AUDIENCE: &str = "authenticated";
const KID: &str = "test-key-1";
// The public half of tests/fixtures/jwks-test-key.pem (a key for these tests only).
const X: &str = "xo2bq58ok1JZHmN3nqapkiOTJjDAUX-IZthHHECmYic";
const Y: &str = "dYtCFs_IAYPi1Ft6Zlg_Xz82hRs6E3DBNnlHPMkuCBI";

fn private_key() -> EncodingKey {
    let pem = include_str!("../fixtures/jwks-test-key.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    EncodingKey::from_ec_der(&der)
}

async fn jwks_server() -> Served {
    let set = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": KID, "alg": "ES256", "use": "sig"
    }]});
    serve(axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || async move { axum::Json(set) }),
    ))
    .await
}

fn token(claims: Value, kid: &str) -> String {
    wati_shared::domain::jwt_crypto::install();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, &claims, &private_key()).unwrap()
}

fn claims(email: &str, iss: &str, aud: &str, exp_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "ext-1", "email": email, "iss": iss, "aud": aud, "iat": now, "exp": now + exp_in})
}

#[tokio::test]
async fn an_outside_issuers_token_acts_as_the_member_with_that_e_mail() {
    let jwks = jwks_server().await;
    let app = TestApp::start_with(
        TestOptions::default()
            .with(
                "AUTH_JWKS_URL",
                format!("{}/.well-known/jwks.json", jwks.base),
            )
            .with("AUTH_ISSUER", ISSUER)
            .with("AUTH_AUDIENCE", AUDIENCE),
    )
    .await;
    let t = app.tenant("pro").await;
    let invited = t.invite("Ext@Acme.example", "agent").await;
    let good = app.with_key(&token(
        claims("ext@acme.example", ISSUER, AUDIENCE, 300),
        KID,
    ));
    assert_eq!(good.get_ok("/api/contacts").await["contacts"], json!([]));
    good.create_key(json!({"name": "x"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs the admin role");

    for (bad, why) in [
        (
            claims("ext@acme.example", ISSUER, "someone-else", 300),
            "audience",
        ),
        (
            claims("ext@acme.example", "https://evil.example", AUDIENCE, 300),
            "issuer",
        ),
        (claims("ext@acme.example", ISSUER, AUDIENCE, -10), "expired"),
    ] {
        let status = app
            .with_key(&token(bad, KID))
            .get("/api/contacts")
            .await
            .status;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}");
    }
    let unknown_kid = token(claims("ext@acme.example", ISSUER, AUDIENCE, 300), "other");
    assert_eq!(
        app.with_key(&unknown_kid).status_of("/api/contacts").await,
        StatusCode::UNAUTHORIZED
    );
    app.with_key(&token(
        claims("stranger@acme.example", ISSUER, AUDIENCE, 300),
        KID,
    ))
    .get("/api/contacts")
    .await
    .expect_error(
        StatusCode::UNAUTHORIZED,
        "No member of this tenant has this e-mail",
    );

    // Removing the member stops the outside token too.
    let id = invited["member"]["id"].str();
    t.delete(&format!("/api/team/{id}")).await.ok();
    assert_eq!(
        good.status_of("/api/contacts").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn without_the_configuration_an_outside_token_is_refused() {
    let (app, t) = TestApp::with_tenant("pro").await;
    t.invite("ext@acme.example", "agent").await;
    let outside = token(claims("ext@acme.example", ISSUER, AUDIENCE, 300), KID);
    app.with_key(&outside)
        .get("/api/contacts")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "Invalid access token");
}
