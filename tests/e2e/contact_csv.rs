//! Contacts at scale (issue 16's "Done when", the CSV part): a CSV with a BOM, semicolons,
//! quoted names with commas, 1% bad rows and duplicates imports through the contact-jobs
//! worker with exact counts and every bad row named; a redelivered chunk changes nothing
//! twice; the export of the tag re-imports as all `unchanged`. `make bench-import` does the
//! same with 100,000 rows (`IMPORT_ROWS` sets this test's size, 2,000 by default).

use std::time::Duration;
use wati_tests::csv_file::generated_csv;
use wati_tests::shared::services::contact_jobs;
use wati_tests::*;

async fn post_csv(t: &Tenant, path: &str, csv: &str) -> Reply {
    let req = t
        .builder(Method::POST, path)
        .header("content-type", "text/csv")
        .body(csv.to_string());
    t.send(req).await
}

async fn wait_import(t: &Tenant, id: &str, secs: u64) -> Value {
    eventually(
        "the import completed",
        Duration::from_secs(secs),
        || async {
            let i = t.get_ok(&format!("/api/contacts/imports/{id}")).await;
            (i["import"]["status"] == "completed").then(|| i["import"].clone())
        },
    )
    .await
}

async fn wait_export(t: &Tenant, id: &str) -> Value {
    eventually("the export completed", Duration::from_secs(60), || async {
        let e = t.get_ok(&format!("/api/contacts/exports/{id}")).await;
        (e["export"]["status"] == "completed").then(|| e["export"].clone())
    })
    .await
}

fn adds_up(i: &Value) {
    let n = |k: &str| i[k].u64();
    assert_eq!(
        n("rows"),
        n("created") + n("updated") + n("unchanged") + n("duplicates") + n("failed"),
        "{i}"
    );
}

#[tokio::test]
async fn a_csv_imports_with_exact_counts_and_its_export_reimports_unchanged() {
    let rows: usize = std::env::var("IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let (app, t) = TestApp::with_tenant("pro").await;
    let _workers = app.spawn_workers();
    let list = t.create_list("Imported").await;
    let (csv, created, duplicates, bad) = generated_csv(rows, "92300");

    let started = post_csv(&t, &format!("/api/contacts/import?listId={list}"), &csv)
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(started["import"]["status"], "queued", "{started}");
    let id = started["import"]["id"].string();
    let done = wait_import(&t, &id, 120).await;
    assert_eq!(done["rows"].u64(), rows as u64);
    assert_eq!(done["created"].u64(), created as u64, "{done}");
    assert_eq!(done["duplicates"].u64(), duplicates as u64);
    assert_eq!(done["failed"].u64(), bad.len() as u64);
    assert_eq!((done["updated"].u64(), done["unchanged"].u64()), (0, 0));
    adds_up(&done);
    // Every bad row named (the first 100), in row order.
    let named: Vec<usize> = done["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].u64() as usize)
        .collect();
    assert_eq!(named, bad.iter().copied().take(100).collect::<Vec<_>>());
    assert_eq!(
        done["errors"][0]["error"],
        "\"phone\" must be an E.164 number or local digits"
    );
    // The contacts: quoted names with commas, tags split, duplicates merged (tags united),
    // opt-outs with source import, every one in the list.
    let c = t.get_ok("/api/contacts?search=923000000000").await["contacts"][0].clone();
    assert_eq!(c["name"], "Khan, Ali 0");
    assert_eq!(c["tags"], json!(["batch0", "import"]));
    let merged = t.get_ok("/api/contacts?search=923000000038").await["contacts"][0].clone();
    assert_eq!(merged["name"], "Khan, Ali 39", "the later row's name wins");
    assert_eq!(merged["tags"], json!(["batch0", "batch2", "import"]));
    let out = t.get_ok("/api/contacts?search=923000000007").await["contacts"][0].clone();
    assert_eq!(
        (out["optedOut"].clone(), out["optOutSource"].clone()),
        (json!(true), json!("import"))
    );
    let l = t.get_ok(&format!("/api/contact-lists/{list}")).await;
    assert_eq!(l["list"]["memberCount"].u64(), created as u64);

    // A redelivered chunk changes nothing twice.
    contact_jobs::import_chunk(&app.state, &t.id, &id, 0)
        .await
        .unwrap();
    let again = t.get_ok(&format!("/api/contacts/imports/{id}")).await["import"].clone();
    assert_eq!(again, done);

    // The export of the tag: a download link to the same columns, which re-imports unchanged.
    let export = t
        .post("/api/contacts/export", json!({"tag": "IMPORT"}))
        .await
        .expect(StatusCode::ACCEPTED);
    let export = wait_export(&t, export["export"]["id"].str()).await;
    assert_eq!(export["rows"].u64(), created as u64);
    let url = export["url"].string();
    let file = http_client().get(&url).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let file = file.text().await.unwrap();
    assert!(
        file.starts_with("phone,name,tags,optedOut\n"),
        "{}",
        &file[..80]
    );
    assert!(
        file.contains("923000000000,\"Khan, Ali 0\",batch0;import,false\n"),
        "{}",
        &file[..200]
    );
    let reimport = post_csv(&t, "/api/contacts/import", &file)
        .await
        .expect(StatusCode::ACCEPTED);
    let re = wait_import(&t, reimport["import"]["id"].str(), 120).await;
    assert_eq!(
        (re["rows"].u64(), re["unchanged"].u64(), re["failed"].u64()),
        (created as u64, created as u64, 0),
        "{re}"
    );
    adds_up(&re);
}

#[tokio::test]
async fn files_that_cannot_be_imported_and_other_tenants_jobs_are_refused() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let _workers = app.spawn_workers();
    post_csv(&t, "/api/contacts/import", "name,email\nAli,a@b.c\n")
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "The header row must name a \"phone\" column (optional: \"name\", \"tags\", \"optedOut\"); got: name, email",
        );
    post_csv(&t, "/api/contacts/import", "")
        .await
        .error(StatusCode::BAD_REQUEST);
    let json = t
        .post("/api/contacts/import", json!({"contacts": []}))
        .await;
    assert!(json.error(StatusCode::BAD_REQUEST).contains("text/csv"));
    post_csv(
        &t,
        "/api/contacts/import?listId=0193a6f2-7c1e-7d4b-9a51-3f0c2b8e4d11",
        "phone\n923001234567\n",
    )
    .await
    .error(StatusCode::NOT_FOUND);
    let too_big = "phone\n".to_string() + &"923001234567\n".repeat(900_000);
    post_csv(&t, "/api/contacts/import", &too_big)
        .await
        .error(StatusCode::BAD_REQUEST);

    // With a default country, local numbers in rows too.
    t.put("/api/settings/phone", json!({"defaultCountryCode": "92"}))
        .await
        .ok();
    let started = post_csv(
        &t,
        "/api/contacts/import",
        "phone,name\n0300 1112233,Local\n0300 12345,Bad\n",
    )
    .await
    .expect(StatusCode::ACCEPTED);
    let done = wait_import(&t, started["import"]["id"].str(), 30).await;
    assert_eq!((done["created"].u64(), done["failed"].u64()), (1, 1));
    assert_eq!(done["errors"][0]["row"], 3);
    let c = t.get_ok("/api/contacts?search=923001112233").await;
    assert_eq!(c["contacts"][0]["name"], "Local");

    // Exports: one filter at most; another tenant's jobs are not found.
    let both = json!({"tag": "a", "optedOut": true});
    t.post("/api/contacts/export", &both)
        .await
        .error(StatusCode::BAD_REQUEST);
    let all = t
        .post_empty("/api/contacts/export")
        .await
        .expect(StatusCode::ACCEPTED);
    let all = wait_export(&t, all["export"]["id"].str()).await;
    assert_eq!(all["rows"], 1);
    let other = app.tenant("pro").await;
    other
        .get(&format!(
            "/api/contacts/imports/{}",
            started["import"]["id"].str()
        ))
        .await
        .expect_error(StatusCode::NOT_FOUND, "Import not found");
    other
        .get(&format!("/api/contacts/exports/{}", all["id"].str()))
        .await
        .expect_error(StatusCode::NOT_FOUND, "Export not found");
}
