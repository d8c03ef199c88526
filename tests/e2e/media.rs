//! Media sends: Meta's bodies per type, and the URL checks (scheme, address, reachability,
//! size, type) against a local file host that never has to send a whole file.

use std::time::Instant;
use wati_tests::fake_files::{FakeFiles, FileSpec};
use wati_tests::fake_meta::FakeMeta;
use wati_tests::*;

const MB: u64 = 1024 * 1024;

struct Setup {
    app: TestApp,
    fake: FakeMeta,
    files: FakeFiles,
    t: Tenant,
}

/// A pro tenant with a Cloud API device whose customer wrote first.
async fn setup() -> Setup {
    let Fakes {
        meta: fake, files, ..
    } = Fakes::spawn().await;
    let app = TestApp::start_with(sending_options(&fake.base)).await;
    let (t, _) = app
        .cloud_sender(&fake, "106540352242922", "EAAGmedia", "923001234567")
        .await;
    Setup {
        app,
        fake,
        files,
        t,
    }
}

#[tokio::test]
async fn each_media_type_goes_to_meta_as_it_documents() {
    let s = setup().await;
    let image = s
        .files
        .add("/cdn/photo.jpg", FileSpec::new("image/jpeg", 300 * 1024));
    let body = s.t.send_media(json!({"to": "+923001234567", "type": "image", "url": image, "caption": "Check out our new product"}),
    )
    .await.expect(StatusCode::OK);
    assert_eq!(body["status"], "sent");
    assert_eq!(
        s.fake.requests()[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "923001234567",
               "type": "image", "image": {"link": image, "caption": "Check out our new product"}})
    );
    let m = s.t.message(body["id"].str()).await;
    assert_eq!(m["type"], "image");
    assert_eq!(m["media_url"], image.as_str());
    assert_eq!(m["mimetype"], "image/jpeg");
    assert_eq!(m["text"], "Check out our new product");

    // A document without fileName is named after its URL; its type comes from the server.
    let pdf = s.files.add(
        "/files/invoice-2026-001.pdf",
        FileSpec::new("application/pdf", 2 * MB),
    );
    let body = s.t.send_media(json!({"to": "923001234567", "type": "document", "url": pdf, "caption": "Your invoice for January"}),
    )
    .await.expect(StatusCode::OK);
    assert_eq!(
        s.fake.requests()[1].body["document"],
        json!({"link": pdf, "caption": "Your invoice for January", "filename": "invoice-2026-001.pdf"})
    );
    let m = s.t.message(body["id"].str()).await;
    assert_eq!(
        (m["file_name"].clone(), m["mimetype"].clone()),
        (json!("invoice-2026-001.pdf"), json!("application/pdf"))
    );

    // Audio: no caption in Meta's body; a generic server type gives way to the given one.
    let mp3 = s
        .files
        .add("/a/welcome", FileSpec::new("application/octet-stream", MB));
    let body =
        s.t.send_media(
            json!({"to": "923001234567", "type": "audio", "url": mp3, "mimetype": "audio/mpeg"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(s.fake.requests()[2].body["audio"], json!({"link": mp3}));
    assert_eq!(
        s.t.message(body["id"].str()).await["mimetype"],
        "audio/mpeg"
    );

    // Video with a fileName (ignored: only documents carry one), type from the extension.
    let mp4 = s.files.add(
        "/v/demo.mp4",
        FileSpec {
            content_type: None,
            ..FileSpec::new("", 10 * MB)
        },
    );
    let body = s.t.send_media(json!({"to": "923001234567", "type": "video", "url": mp4, "caption": "60-second product demo", "fileName": "demo.mp4"}),
    )
    .await.expect(StatusCode::OK);
    assert_eq!(
        s.fake.requests()[3].body["video"],
        json!({"link": mp4, "caption": "60-second product demo"})
    );
    assert_eq!(s.t.message(body["id"].str()).await["mimetype"], "video/mp4");

    // Exactly at the limit is fine.
    let five = s
        .files
        .add("/cdn/max.png", FileSpec::new("image/png", 5 * MB));
    s.t.send_media(json!({"to": "923001234567", "type": "image", "url": five}))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn servers_that_refuse_head_are_asked_for_one_byte_and_nothing_is_downloaded() {
    let s = setup().await;
    // HEAD refused, ranges honoured: a 206 gives the size.
    let ranged = s.files.add(
        "/r/report.pdf",
        FileSpec {
            no_head: true,
            ..FileSpec::new("application/pdf", 40 * MB)
        },
    );
    s.t.send_media(json!({"to": "923001234567", "type": "document", "url": ranged}))
        .await
        .expect(StatusCode::OK);
    let methods: Vec<String> = s.files.requests().into_iter().map(|(m, _)| m).collect();
    assert_eq!(methods, ["HEAD", "GET"]);
    assert_eq!(s.files.bytes_sent(), 1);

    // HEAD refused and Range ignored: the 200's Content-Length is used, the body is not read.
    let big = s.files.add(
        "/r/catalogue.pdf",
        FileSpec::get_only("application/pdf", 90 * MB),
    );
    let started = Instant::now();
    s.t.send_media(json!({"to": "923001234567", "type": "document", "url": big}))
        .await
        .expect(StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let sent = s.files.bytes_sent();
    assert!(
        sent < 40 * MB,
        "{sent} bytes of a 90 MB file left the server"
    );
    assert!(started.elapsed().as_secs() < 5);

    // Over the limit the same way: refused without downloading.
    let huge = s.files.add(
        "/r/huge.pdf",
        FileSpec::get_only("application/pdf", 101 * MB),
    );
    let body =
        s.t.send_media(json!({"to": "923001234567", "type": "document", "url": huge}))
            .await
            .expect(StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "\"url\" points to a 101 MB file: WhatsApp takes document files up to 100 MB"
    );
    assert!(s.files.bytes_sent() < 80 * MB);
}

#[tokio::test]
async fn every_failed_url_check_is_a_400_that_says_which() {
    let s = setup().await;
    let f = &s.files;
    let html = f.add(
        "/p/photo.jpg.html",
        FileSpec::new("text/html; charset=utf-8", 2048),
    );
    let gif = f.add("/p/anim.gif", FileSpec::new("image/gif", 2048));
    let video = f.add("/v/long.mp4", FileSpec::new("video/mp4", 17 * MB));
    let audio = f.add("/a/talk.mp3", FileSpec::new("audio/mpeg", 16 * MB + 1));
    let missing = format!("{}/nothing-here.jpg", f.base);
    let broken = f.add(
        "/p/broken.jpg",
        FileSpec {
            status: Some(500),
            ..FileSpec::new("image/jpeg", 1)
        },
    );
    let unknown = f.add(
        "/p/blob",
        FileSpec {
            content_type: None,
            ..FileSpec::new("", 1024)
        },
    );
    let empty = f.add("/p/empty.jpg", FileSpec::new("image/jpeg", 0));
    let to_private = f.add(
        "/p/moved.jpg",
        FileSpec {
            redirect: Some("http://10.1.2.3/photo.jpg".into()),
            ..FileSpec::new("image/jpeg", 1)
        },
    );
    let to_metadata = f.add(
        "/p/meta.jpg",
        FileSpec {
            redirect: Some("https://169.254.169.254/latest/meta-data/".into()),
            ..FileSpec::new("image/jpeg", 1)
        },
    );
    let loop_a = f.add(
        "/p/loop.jpg",
        FileSpec {
            redirect: Some("/p/loop.jpg".into()),
            ..FileSpec::new("image/jpeg", 1)
        },
    );
    let cases: Vec<(&str, String, Option<&str>, &str)> = vec![
        ("image", html, None, "\"url\" serves text/html, which WhatsApp does not accept for image messages (accepted: image/jpeg, image/png)"),
        ("image", gif, None, "\"url\" serves image/gif, which WhatsApp does not accept for image messages (accepted: image/jpeg, image/png)"),
        ("video", video, None, "\"url\" points to a 17 MB file: WhatsApp takes video files up to 16 MB"),
        ("audio", audio, None, "\"url\" points to a 16 MB file: WhatsApp takes audio files up to 16 MB"),
        ("image", missing, None, "\"url\" is not reachable: it answered HTTP 404"),
        ("image", broken, None, "\"url\" is not reachable: it answered HTTP 500"),
        ("document", unknown, None, "the type of the file at \"url\" could not be told (no Content-Type, no known extension): pass \"mimetype\" (accepted for document: application/pdf, text/plain, application/msword, application/vnd.openxmlformats-officedocument.wordprocessingml.document, application/vnd.ms-excel, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, application/vnd.ms-powerpoint, application/vnd.openxmlformats-officedocument.presentationml.presentation)"),
        ("image", empty, None, "\"url\" points to an empty file"),
        ("image", to_private, None, "\"url\" must point to a public address: 10.1.2.3 is a private network address"),
        ("image", to_metadata, None, "\"url\" must point to a public address: 169.254.169.254 is a link-local (cloud metadata) address"),
        ("image", loop_a, None, "\"url\" redirects more than 5 times"),
        ("image", "https://169.254.169.254/latest/meta-data/iam".into(), None, "\"url\" must point to a public address: 169.254.169.254 is a link-local (cloud metadata) address"),
        ("image", "https://192.168.1.20/cam.jpg".into(), None, "\"url\" must point to a public address: 192.168.1.20 is a private network address"),
        ("image", "https://[fd00:ec2::254]/x.jpg".into(), None, "\"url\" must point to a public address: fd00:ec2::254 is a private network address"),
        ("image", "https://0.0.0.0/x.jpg".into(), None, "\"url\" must point to a public address: 0.0.0.0 is an unspecified (0.0.0.0/8) address"),
        ("image", "https://user:pw@example.com/x.jpg".into(), None, "\"url\" must not contain a user name or password"),
        ("image", "https://no-such-host.invalid/x.jpg".into(), None, "\"url\" host no-such-host.invalid could not be resolved"),
        // Even locally, plain http is for loopback only.
        ("image", "http://93.184.215.14/x.jpg".into(), None, "\"url\" must be an https:// URL"),
    ];
    for (kind, url, mimetype, error) in cases {
        let mut body = json!({"to": "923001234567", "type": kind, "url": url});
        if let Some(m) = mimetype {
            body["mimetype"] = json!(m);
        }
        let Reply {
            status,
            body: answer,
            ..
        } = s.t.send_media(body).await;
        assert_eq!(
            (status, answer),
            (StatusCode::BAD_REQUEST, json!({"error": error})),
            "{url}"
        );
    }
    assert!(s.fake.requests().is_empty(), "nothing reached Meta");
    assert!(
        s.app.stored_outbound(&s.t.id).await.is_empty(),
        "refused sends leave no message"
    );
}

#[tokio::test]
async fn slow_hosts_are_given_up_on() {
    use std::time::Duration;
    let s = setup().await; // 2 s per request, 4 s for the whole check
    let slow = s.files.add(
        "/slow/a.jpg",
        FileSpec {
            delay: Some(Duration::from_secs(3)),
            ..FileSpec::new("image/jpeg", 1024)
        },
    );
    let hop = |to: &str| FileSpec {
        delay: Some(Duration::from_millis(1500)),
        redirect: Some(to.to_string()),
        ..FileSpec::new("image/jpeg", 1)
    };
    s.files.add(
        "/slow/hop3",
        FileSpec {
            delay: Some(Duration::from_millis(1500)),
            ..FileSpec::new("image/jpeg", 1024)
        },
    );
    s.files.add("/slow/hop2", hop("/slow/hop3"));
    let chain = s.files.add("/slow/hop1", hop("/slow/hop2"));
    for (url, error) in [
        (slow, "\"url\" is not reachable: no answer within 2 s"),
        (
            chain,
            "\"url\" is not reachable: no complete answer within 4 s",
        ),
    ] {
        let started = std::time::Instant::now();
        let Reply { status, body, .. } =
            s.t.send_media(json!({"to": "923001234567", "type": "image", "url": url}))
                .await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({"error": error})),
            "{url}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(4800),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(s.fake.requests().is_empty());
}

#[tokio::test]
async fn bad_media_requests_name_the_field() {
    let s = setup().await;
    let jpg = s.files.add("/p/a.jpg", FileSpec::new("image/jpeg", 1024));
    let mp3 = s.files.add("/a/a.mp3", FileSpec::new("audio/mpeg", 1024));
    let pdf = s
        .files
        .add("/d/a.pdf", FileSpec::new("application/pdf", 1024));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"type": "image", "url": jpg}), "\"to\" is required"),
        (
            json!({"to": "x", "type": "image", "url": jpg}),
            "\"to\" must be an E.164 number or local digits",
        ),
        (
            json!({"to": "923001234567", "url": jpg}),
            "\"type\" is required: image, video, audio or document",
        ),
        (
            json!({"to": "923001234567", "type": "sticker", "url": jpg}),
            "\"type\" must be image, video, audio or document",
        ),
        (
            json!({"to": "923001234567", "type": "image"}),
            "\"url\" is required",
        ),
        (
            json!({"to": "923001234567", "type": "image", "url": "not a url"}),
            "\"url\" must be a valid https:// URL",
        ),
        (
            json!({"to": "923001234567", "type": "image", "url": "ftp://example.com/a.jpg"}),
            "\"url\" must be an https:// URL",
        ),
        (
            json!({"to": "923001234567", "type": "image", "url": format!("https://example.com/{}", "a".repeat(2100))}),
            "\"url\" must be at most 2048 characters",
        ),
        (
            json!({"to": "923001234567", "type": "audio", "url": mp3, "caption": "hi"}),
            "\"caption\" is not supported for audio messages",
        ),
        (
            json!({"to": "923001234567", "type": "image", "url": jpg, "caption": "c".repeat(1025)}),
            "\"caption\" must be at most 1024 characters (got 1025)",
        ),
        (
            json!({"to": "923001234567", "type": "image", "url": jpg, "mimetype": "image/gif"}),
            "\"mimetype\" must be one WhatsApp accepts for image messages: image/jpeg, image/png",
        ),
        (
            json!({"to": "923001234567", "type": "image", "url": jpg, "mimetype": "jpeg"}),
            "\"mimetype\" must be one WhatsApp accepts for image messages: image/jpeg, image/png",
        ),
        (
            json!({"to": "923001234567", "type": "document", "url": pdf, "fileName": "../../etc/passwd"}),
            "\"fileName\" must be a file name, without slashes or control characters",
        ),
        (
            json!({"to": "923001234567", "type": "document", "url": pdf, "deviceId": "x"}),
            "\"deviceId\" must be a device id (a UUID from GET /api/devices)",
        ),
    ];
    for (body, error) in cases {
        s.t.send_media(body.clone())
            .await
            .expect_bad_request(error, &body);
    }
    assert!(s.fake.requests().is_empty());
}

#[tokio::test]
async fn without_allow_loopback_targets_this_machine_is_off_limits() {
    let fake = FakeMeta::start().await;
    let files = FakeFiles::start().await;
    let mut opts = sending_options(&fake.base);
    opts.overrides
        .retain(|(k, _)| k != "ALLOW_LOOPBACK_TARGETS");
    let app = TestApp::start_with(opts).await;
    let t = app.tenant("pro").await;
    t.sandbox_device().await;
    let url = files.add("/p/a.jpg", FileSpec::new("image/jpeg", 1024));
    let port = url
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .expect("the file host's port")
        .to_string();
    for (url, error) in [
        (url.clone(), "\"url\" must be an https:// URL".to_string()),
        (
            format!("https://127.0.0.1:{port}/p/a.jpg"),
            "\"url\" must point to a public address: 127.0.0.1 is a loopback address".into(),
        ),
        (
            format!("https://[::1]:{port}/p/a.jpg"),
            "\"url\" must point to a public address: ::1 is a loopback address".into(),
        ),
        (
            format!("https://127.1.2.3:{port}/p/a.jpg"),
            "\"url\" must point to a public address: 127.1.2.3 is a loopback address".into(),
        ),
    ] {
        let Reply { status, body, .. } = t
            .send_media(json!({"to": "923001234567", "type": "image", "url": url}))
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({"error": error})),
            "{url}"
        );
    }
    let body = t.send_media(json!({"to": "923001234567", "type": "image", "url": format!("https://localhost:{port}/p/a.jpg")}),
    )
    .await.expect(StatusCode::BAD_REQUEST);
    let error = body["error"].str();
    assert!(
        error
            .starts_with("\"url\" must point to a public address: localhost is a loopback address"),
        "{error}"
    );
    assert!(
        files.requests().is_empty(),
        "no request reached this machine"
    );
}
