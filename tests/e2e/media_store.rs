//! Inbound media kept in S3 (moto) behind signed links: an image from Meta's webhook is
//! downloaded once (media node, then its URL, with the device's token) and its
//! `message.received` carries a `mediaUrl` that opens the exact bytes without a credential;
//! tampered links are 403, another tenant's media 404; a media that cannot be fetched, or
//! is over WhatsApp's limit, leaves `mediaError` and is still delivered.

use sha2::{Digest, Sha256};
use std::time::Duration;
use wati_tests::fake_waha::FakeWaha;
use wati_tests::*;

const PHONE_ID: &str = "106540352242933";
const TOKEN: &str = "EAAGmediatoken";
const BASE: &str = "https://wati.example.com";

type Env = CloudTenant;

async fn env() -> Env {
    let opts = |o: TestOptions| o.with("PUBLIC_BASE_URL", BASE);
    Fakes::spawn()
        .await
        .cloud_tenant(opts, PHONE_ID, TOKEN)
        .await
}

fn wamid() -> String {
    format!("wamid.MEDIA{}", uuid::Uuid::new_v4().simple())
}

/// Bytes that look like nothing in particular, `n` of them.
fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

/// The `message.received` of `wamid`, once delivered.
async fn received(e: &Env, wamid: &str) -> Value {
    eventually(
        &format!("message.received for {wamid}"),
        Duration::from_secs(20),
        || async {
            e.receiver.hits().into_iter().find_map(|hit| {
                let body: Value = serde_json::from_str(&hit.body).ok()?;
                (body["event"] == "message.received" && body["messageId"] == wamid).then_some(body)
            })
        },
    )
    .await
}

/// A media message from Meta, handled: its id, the webhook's body and its `message.received`.
async fn media_in(
    e: &Env,
    kind: &str,
    media_id: &str,
    mime: &str,
    sha256: Option<&str>,
) -> (String, String, Value) {
    let id = wamid();
    let body = meta_media(PHONE_ID, &id, kind, media_id, mime, sha256, now_ts());
    e.app.from_meta(&e.tenant.id, &body).await;
    let event = received(e, &id).await;
    (id, body, event)
}

/// A client that does not follow redirects.
fn no_redirects() -> Client {
    wati_shared::runtime::tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The signed link on this app (the link names `PUBLIC_BASE_URL`, the app runs locally).
fn local(app: &TestApp, media_url: &str) -> String {
    let path = media_url
        .strip_prefix(BASE)
        .unwrap_or_else(|| panic!("{media_url} is not on {BASE}"));
    app.url(path)
}

#[tokio::test]
async fn an_inbound_image_is_kept_and_its_signed_link_opens_the_same_bytes_without_a_key() {
    let e = env().await;
    let image = bytes(300_000);
    e.meta.add_media("7001", &image, "image/jpeg", TOKEN);
    let b64 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(&image),
    );
    let (id, _, event) = media_in(&e, "image", "7001", "image/jpeg", Some(&b64)).await;
    assert_eq!(event["type"], "image");
    assert!(event.get("mediaError").is_none(), "{event}");
    let media_url = event["mediaUrl"].string();
    assert!(
        media_url.starts_with(&format!("{BASE}/api/public/v1/media/")),
        "{media_url}"
    );

    // No credential: a redirect to the file, whose bytes are the fake's.
    let http = no_redirects();
    let res = http.get(local(&e.app, &media_url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let file = http.get(&location).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    let got = file.bytes().await.unwrap();
    assert_eq!(Sha256::digest(&got), Sha256::digest(&image));
    assert_eq!(e.meta.media_downloads("7001"), 1);

    // One character changed anywhere in the signature, or another expiry: 403.
    let (head, sig) = media_url.rsplit_once("signature=").unwrap();
    let mut chars: Vec<char> = sig.chars().collect();
    chars[5] = if chars[5] == '0' { '1' } else { '0' };
    let tampered = format!("{head}signature={}", chars.iter().collect::<String>());
    let res = http.get(local(&e.app, &tampered)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let later = media_url.replace("expires=", "expires=9");
    let res = http.get(local(&e.app, &later)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The message lookup carries a signed link too, and the file's type.
    let message = e
        .app
        .stored_message(&e.tenant.id, &id)
        .await
        .expect("stored");
    let looked_up = e.tenant.message(&message.id).await;
    assert_eq!(looked_up["mimetype"], "image/jpeg");
    let link = looked_up["media_url"].string();
    assert!(
        link.contains(&format!("/api/public/v1/media/{}?", message.id)),
        "{link}"
    );
    let res = http.get(local(&e.app, &link)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);

    // The Team Inbox's thread shows the image by a signed link as well.
    // (Its listing entry is written right after the message, so it may lag a moment.)
    let conversation = eventually("the listing", Duration::from_secs(10), || async {
        let listed = e.tenant.get_ok("/api/inbox/conversations").await;
        listed["conversations"][0]["id"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    let thread = e
        .tenant
        .get_ok(&format!("/api/inbox/conversations/{conversation}/messages"))
        .await;
    let entry = &thread["messages"][0];
    assert_eq!(
        (entry["id"].str(), entry["type"].str()),
        (message.id.as_str(), "image")
    );
    let in_thread = entry["mediaUrl"].string();
    assert!(in_thread.contains("signature="), "{in_thread}");
    let res = http.get(local(&e.app, &in_thread)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);

    // With a credential: the tenant's own key opens it, another tenant's key finds nothing.
    let path = format!("/api/public/v1/media/{}", message.id);
    let res = http
        .get(e.app.url(&path))
        .bearer_auth(&e.tenant.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let other = e.app.roomy_tenant("pro").await;
    other
        .api
        .get(&path)
        .await
        .expect_error(StatusCode::NOT_FOUND, "Media not found");
    e.app
        .anonymous()
        .get(&path)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    // The signed link is for its tenant only: naming another tenant breaks the signature.
    let swapped = media_url.replace(&e.tenant.id, &other.id);
    let res = http.get(local(&e.app, &swapped)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// A file over one 8 MiB part goes up as a multipart upload (create, two parts, complete)
/// and comes back whole, with its type and disposition.
#[tokio::test]
async fn a_document_over_one_part_is_kept_by_a_multipart_upload_and_opens_whole() {
    let e = env().await;
    let document = bytes(8 * 1024 * 1024 + 700_000);
    e.meta
        .add_media("7010", &document, "application/pdf", TOKEN);
    let (_, _, event) = media_in(&e, "document", "7010", "application/pdf", None).await;
    assert!(event.get("mediaError").is_none(), "{event}");
    let http = no_redirects();
    let res = http
        .get(local(&e.app, &event["mediaUrl"].string()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    let file = http.get(&location).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.headers()["content-disposition"], "inline");
    let got = file.bytes().await.unwrap();
    assert_eq!(got.len(), document.len());
    assert_eq!(Sha256::digest(&got), Sha256::digest(&document));
}

#[tokio::test]
async fn a_failed_download_is_retried_and_kept_once_even_when_meta_sends_the_webhook_again() {
    let e = env().await;
    let doc = bytes(10_000);
    e.meta.add_media("7002", &doc, "application/pdf", TOKEN);
    e.meta.fail_media("7002", 1);
    let (id, body, event) = media_in(&e, "document", "7002", "application/pdf", None).await;
    assert!(event["mediaUrl"].is_string(), "{event}");
    assert_eq!(e.meta.media_downloads("7002"), 1);

    // Meta delivers the same webhook again: stored once, downloaded once.
    e.app.from_meta(&e.tenant.id, &body).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(e.meta.media_downloads("7002"), 1);
    let events = e
        .receiver
        .hits()
        .into_iter()
        .filter(|h| h.body.contains(&id))
        .count();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn a_media_that_cannot_be_kept_leaves_media_error_and_the_message_is_still_delivered() {
    let e = env().await;
    // Not at Meta at all.
    let (gone, _, event) = media_in(&e, "image", "7999", "image/jpeg", None).await;
    assert_eq!(event["type"], "image");
    assert!(event.get("mediaUrl").is_none(), "{event}");
    assert!(
        event["mediaError"]
            .string()
            .contains("could not be downloaded"),
        "{event}"
    );
    let message = e
        .app
        .stored_message(&e.tenant.id, &gone)
        .await
        .expect("stored");
    let looked_up = e.tenant.message(&message.id).await;
    assert!(looked_up.get("media_url").is_none(), "{looked_up}");
    assert!(looked_up["media_error"].is_string(), "{looked_up}");
    e.tenant
        .api
        .get(&format!("/api/public/v1/media/{}", message.id))
        .await
        .expect(StatusCode::NOT_FOUND);

    // Over WhatsApp's sticker limit (500 KB): refused from the node's size, never downloaded.
    e.meta
        .add_media("7003", &bytes(600 * 1024), "image/webp", TOKEN);
    let (_, _, event) = media_in(&e, "sticker", "7003", "image/webp", None).await;
    assert!(
        event["mediaError"]
            .string()
            .contains("over WhatsApp's limit"),
        "{event}"
    );
    assert_eq!(e.meta.media_downloads("7003"), 0);

    // Bytes that do not match Meta's SHA-256 are not kept.
    e.meta.add_media("7004", &bytes(1000), "image/png", TOKEN);
    let wrong = hex::encode(Sha256::digest(b"something else"));
    let (_, _, event) = media_in(&e, "image", "7004", "image/png", Some(&wrong)).await;
    assert!(event["mediaError"].is_string(), "{event}");
}

#[tokio::test]
async fn a_whatsapp_web_media_is_fetched_from_the_gateway_with_its_key_and_kept() {
    const KEY: &str = "waha-media-key";
    let fakes = Fakes::spawn().await;
    let waha = FakeWaha::start(KEY).await;
    let opts = fakes
        .options()
        .roomy_keys()
        .with("WAHA_BASE_URL", &waha.base)
        .with("WAHA_API_KEY", KEY);
    let app = TestApp::start_with(opts).await;
    let tenant = app.roomy_tenant("pro").await;
    tenant.configure_webhook(&fakes.receiver.url, None).await;
    let _workers = app.spawn_workers();
    tenant
        .create_device(json!({"name": "Shop phone", "provider": "whatsapp_web"}))
        .await;
    let session = waha.only_session().name;
    let photo = bytes(20_000);
    let url = waha.add_file("photo.jpg", &photo, "image/jpeg");
    let payload = json!({"id": "false_923001234567@c.us_MEDIA0000000001",
        "timestamp": now_ts(), "from": "923001234567@c.us", "fromMe": false, "source": "app",
        "to": "15550001111@c.us", "body": "", "hasMedia": true,
        "media": {"url": url, "mimetype": "image/jpeg", "filename": null, "error": null},
        "ack": 1, "ackName": "SERVER", "replyTo": null});
    let res = waha.deliver(&session, "message", payload).await;
    assert_eq!(res.status(), StatusCode::OK);

    let event = eventually(
        "the image's message.received",
        Duration::from_secs(20),
        || async {
            fakes.receiver.hits().into_iter().find_map(|h| {
                let body: Value = serde_json::from_str(&h.body).ok()?;
                (body["event"] == "message.received" && body["type"] == "image").then_some(body)
            })
        },
    )
    .await;
    // No PUBLIC_BASE_URL: the worker's link is the path, on whatever host serves the API.
    let media_url = event["mediaUrl"].string();
    assert!(
        media_url.starts_with("/api/public/v1/media/"),
        "{media_url}"
    );
    let http = no_redirects();
    let res = http.get(app.url(&media_url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let got = http
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(Sha256::digest(&got), Sha256::digest(&photo));
    let fetched = waha.requests_to("/api/files/photo.jpg");
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].api_key.as_deref(), Some(KEY));
}

#[tokio::test]
async fn a_signed_link_stops_opening_when_it_expires() {
    let clock = Clock::manual(chrono::Utc::now());
    let app_clock = clock.clone();
    let opts = move |o: TestOptions| {
        o.with("PUBLIC_BASE_URL", BASE)
            .with("MEDIA_LINK_TTL_SECONDS", 60)
            .clock(app_clock)
    };
    let e = Fakes::spawn()
        .await
        .cloud_tenant(opts, PHONE_ID, TOKEN)
        .await;
    e.meta.add_media("7005", &bytes(2_000), "image/png", TOKEN);
    let (_, _, event) = media_in(&e, "image", "7005", "image/png", None).await;
    let link = local(&e.app, &event["mediaUrl"].string());
    let http = no_redirects();
    assert_eq!(
        http.get(&link).send().await.unwrap().status(),
        StatusCode::FOUND
    );
    clock.advance(chrono::Duration::seconds(61));
    let res = http.get(&link).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let answer: Value = res.json().await.unwrap();
    assert!(answer["error"].string().contains("expired"), "{answer}");
}
