//! The app under test on a stack of its own, and typed callers for its HTTP API: a method per
//! endpoint that asserts the status a success answers with, and raw requests (`Reply`) for
//! the error paths.

use crate::fake_meta::FakeMeta;
use crate::serve::{serve, Served};
use crate::shared::{
    poll_once, registry, start_with, AppState, Clock, DevServer, ExtraFunctions, LocalOptions,
    LocalQueue, SqsHandler, TickReport,
};
use crate::{local_aws, template_path, unique_prefix, Json};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub struct TestOptions {
    pub overrides: Vec<(String, String)>,
    pub clock: Clock,
    pub template: PathBuf,
    pub visibility_timeout: Option<i32>,
    pub extra_functions: Option<ExtraFunctions>,
    /// The dashboard's built files, served at `/` as `make dev` does (browser tests).
    pub assets: Option<PathBuf>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            overrides: Vec::new(),
            clock: Clock::System,
            template: template_path(),
            visibility_timeout: None,
            extra_functions: None,
            assets: None,
        }
    }
}

impl TestOptions {
    /// One more environment override.
    pub fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.overrides.push((name.to_string(), value.to_string()));
        self
    }

    /// Keys get room for the many requests polling tests make (the default is 60 a minute).
    pub fn roomy_keys(self) -> Self {
        self.with("DEFAULT_RATE_LIMIT_PER_MINUTE", 10_000)
    }

    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

/// Options for sending tests: the Graph API is `graph_base` (a fake), media URLs may be on
/// this machine, the provider times out after 2 s and the sandbox reports after 1 s.
pub fn sending_options(graph_base: &str) -> TestOptions {
    TestOptions::default()
        .with("GRAPH_API_BASE_URL", graph_base)
        .with("ALLOW_LOOPBACK_TARGETS", "true")
        .with("PROVIDER_TIMEOUT_SECONDS", "2")
        .with("MEDIA_CHECK_TIMEOUT_SECONDS", "2")
        .with("SANDBOX_STATUS_DELAY_SECONDS", "1")
}

/// Status, headers and JSON body (`Null` when empty) of one answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn of(res: reqwest::Result<reqwest::Response>) -> Reply {
        let res = res.expect("the request reaches the server");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("a readable body");
        let csv = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv"));
        let body = if text.is_empty() {
            Value::Null
        } else if csv && status.is_success() {
            // A CSV download (analytics): its text as a string.
            Value::String(text)
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The body, after asserting the status.
    pub fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }

    pub fn ok(self) -> Value {
        self.expect(StatusCode::OK)
    }

    /// Asserts the status and the whole body.
    pub fn expect_body(self, status: StatusCode, body: Value) {
        assert_eq!((self.status, self.body), (status, body));
    }

    /// Asserts the status and the `error` message (other fields of the body are not looked at).
    pub fn expect_error(self, status: StatusCode, message: &str) {
        assert_eq!(
            (self.status, self.body["error"].as_str()),
            (status, Some(message)),
            "{}",
            self.body
        );
    }

    /// Asserts a 400 whose whole body is `{"error": message}`, naming the `request` that
    /// was refused if not.
    pub fn expect_bad_request(self, message: &str, request: &Value) {
        assert_eq!(
            (self.status, self.body),
            (StatusCode::BAD_REQUEST, json!({ "error": message })),
            "{request}"
        );
    }

    /// The `error` message, after asserting the status.
    pub fn error(self, status: StatusCode) -> String {
        let body = self.expect(status);
        body["error"].string()
    }

    /// A header's value; panics when the answer has none.
    pub fn header(&self, name: &str) -> &str {
        header(&self.headers, name)
    }

    /// A header's value, if the answer has it.
    pub fn header_opt(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("an ASCII header"))
    }

    /// A numeric header (the AWS call accounting's `x-aws-*`).
    pub fn count(&self, name: &str) -> u32 {
        let v = self.header(name);
        v.parse()
            .unwrap_or_else(|e| panic!("{name}: {v:?} is not a number: {e}"))
    }
}

/// A header's value; panics when there is none.
pub fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .unwrap_or_else(|| panic!("no {name} header in {h:?}"))
        .to_str()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An HTTP caller of the app with one credential (or none).
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: Client,
    pub token: Option<String>,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with this caller's Bearer token, to add headers or a raw body to.
    pub fn builder(&self, method: Method, path: &str) -> RequestBuilder {
        let r = self.http.request(method, self.url(path));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn send(&self, req: RequestBuilder) -> Reply {
        Reply::of(req.send().await).await
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.builder(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// A body sent as it is, labelled JSON (malformed-body tests).
    pub async fn raw(&self, method: Method, path: &str, body: &str) -> Reply {
        self.send(
            self.builder(method, path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    /// The status a `GET` answers with (a route that should refuse or let in this caller).
    pub async fn status_of(&self, path: &str) -> StatusCode {
        self.get(path).await.status
    }

    /// `GET path`, asserting 200.
    pub async fn get_ok(&self, path: &str) -> Value {
        self.get(path).await.ok()
    }

    pub async fn post(&self, path: &str, body: impl serde::Serialize) -> Reply {
        self.request(Method::POST, path, Some(to_json(body))).await
    }

    /// `POST` without a body.
    pub async fn post_empty(&self, path: &str) -> Reply {
        self.request(Method::POST, path, None).await
    }

    pub async fn put(&self, path: &str, body: impl serde::Serialize) -> Reply {
        self.request(Method::PUT, path, Some(to_json(body))).await
    }

    pub async fn patch(&self, path: &str, body: impl serde::Serialize) -> Reply {
        self.request(Method::PATCH, path, Some(to_json(body))).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// `DELETE` with a JSON body (bulk deletes).
    pub async fn delete_json(&self, path: &str, body: impl serde::Serialize) -> Reply {
        self.request(Method::DELETE, path, Some(to_json(body)))
            .await
    }

    /// Every item of a cursor-paged listing, following `nextCursor` (`query` without `cursor`).
    pub async fn all_pages(&self, path: &str, field: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_string(),
            };
            let page = self.get_ok(&url).await;
            out.extend(page[field].array().iter().cloned());
            cursor = page["nextCursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                return out;
            }
        }
        panic!("runaway pagination of {path}");
    }
}

/// A tenant made by the platform admin, with its first API key.
pub struct Tenant {
    pub id: String,
    pub key: String,
    /// The admin API's answer that created it.
    pub body: Value,
    pub api: Api,
}

impl std::ops::Deref for Tenant {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Tenant {
    /// Its first key's id.
    pub fn key_id(&self) -> String {
        self.body["key"]["id"].string()
    }

    /// A member with `role` (invited with the tenant's key, invitation accepted), as a caller
    /// with the access token that sign-in answered.
    pub async fn member(&self, app: &TestApp, role: &str) -> Api {
        self.member_as(app, role, role).await.0
    }

    /// A member `name@<tenant>.example` with `role`, as a caller, and the member's user id.
    pub async fn member_as(&self, app: &TestApp, name: &str, role: &str) -> (Api, String) {
        let body = self
            .invite(&format!("{name}@{}.example", self.id), role)
            .await;
        let signed = app
            .accept_invitation(body["invitation"]["token"].str(), "a long password")
            .await
            .ok();
        (
            app.with_key(signed["token"].str()),
            body["member"]["id"].string(),
        )
    }

    /// Gives its key room for many requests a minute.
    pub async fn roomy_key(&self) {
        self.patch(
            &format!("/api/keys/{}", self.key_id()),
            json!({"rateLimitPerMinute": 10_000}),
        )
        .await
        .ok();
    }
}

/// A method per endpoint, asserting the status a success answers with; a tenant has them
/// all through its key.
impl Api {
    pub async fn usage(&self) -> Value {
        self.get_ok("/api/usage").await
    }

    // ---------------------------------------------------------------------- devices

    /// `POST /api/devices`; the device, asserting 201.
    pub async fn create_device(&self, body: Value) -> Value {
        let created = self
            .post("/api/devices", body)
            .await
            .expect(StatusCode::CREATED);
        created["device"].clone()
    }

    /// A sandbox device; its id.
    pub async fn sandbox_device(&self) -> String {
        self.create_device(json!({"name": "Sandbox", "provider": "sandbox"}))
            .await["id"]
            .string()
    }

    /// A Cloud API device whose token `fake` accepts (its app secret is [`APP_SECRET`], its
    /// verify token `verify-me`); its id.
    pub async fn cloud_device(
        &self,
        fake: &FakeMeta,
        phone_number_id: &str,
        token: &str,
    ) -> String {
        fake.register(phone_number_id, token);
        self.create_device(
            json!({"name": format!("Cloud {phone_number_id}"), "provider": "cloud_api",
               "phoneNumberId": phone_number_id, "wabaId": "102290129340398",
               "accessToken": token, "appSecret": APP_SECRET, "verifyToken": "verify-me"}),
        )
        .await["id"]
            .string()
    }

    // --------------------------------------------------------------------- messages

    /// `POST /api/public/v1/send`.
    pub async fn send_message(&self, body: Value) -> Reply {
        self.post("/api/public/v1/send", body).await
    }

    /// `POST /api/public/v1/send-media`.
    pub async fn send_media(&self, body: Value) -> Reply {
        self.post("/api/public/v1/send-media", body).await
    }

    /// A text send, asserting 200.
    pub async fn send_text(&self, to: &str, text: &str) -> Value {
        self.send_message(json!({"to": to, "message": text}))
            .await
            .ok()
    }

    /// `POST /api/public/v1/send` of a text with an `Idempotency-Key`; the answer, asserting 200.
    pub async fn send_text_with_key(&self, to: &str, text: &str, key: &str) -> Value {
        let req = self.builder(Method::POST, "/api/public/v1/send");
        let req = req.header("idempotency-key", key);
        self.send(req.json(&json!({"to": to, "message": text})))
            .await
            .ok()
    }

    /// `GET /api/public/v1/messages/{id}`.
    pub async fn lookup(&self, id: &str) -> Reply {
        self.get(&format!("/api/public/v1/messages/{id}")).await
    }

    /// The message, asserting 200.
    pub async fn message(&self, id: &str) -> Value {
        self.lookup(id).await.ok()["message"].clone()
    }

    // --------------------------------------------------------------------- contacts

    /// `POST /api/contacts`; the report, asserting 200.
    pub async fn upsert_contacts(&self, contacts: Value) -> Value {
        self.post("/api/contacts", json!({ "contacts": contacts }))
            .await
            .ok()
    }

    /// Upserts and gives each entry's id, in order.
    pub async fn contact_ids(&self, contacts: Value) -> Vec<String> {
        ids_of(&self.upsert_contacts(contacts).await)
    }

    /// One contact; its id.
    pub async fn contact_id(&self, name: &str, phone: &str) -> String {
        let ids = self
            .contact_ids(json!([{ "name": name, "phone": phone }]))
            .await;
        ids[0].clone()
    }

    /// `n` contacts named `C0`, `C1`, … with phones `{phone_prefix}00000`, `…00001`, …;
    /// their ids, in order.
    pub async fn numbered_contacts(&self, n: usize, phone_prefix: &str) -> Vec<String> {
        let entries: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("C{i}"), "phone": format!("{phone_prefix}{i:05}")}))
            .collect();
        self.contact_ids(json!(entries)).await
    }

    /// A contact list; its id.
    pub async fn create_list(&self, name: &str) -> String {
        let created = self
            .post("/api/contact-lists", json!({ "name": name }))
            .await
            .expect(StatusCode::CREATED);
        created["list"]["id"].string()
    }

    /// Adds contacts by id; the report, asserting 200.
    pub async fn add_to_list(&self, list: &str, contact_ids: &[String]) -> Value {
        self.post(
            &format!("/api/contact-lists/{list}/members"),
            json!({ "contactIds": contact_ids }),
        )
        .await
        .ok()
    }

    // -------------------------------------------------------------------- campaigns

    pub async fn create_campaign(&self, body: Value) -> Reply {
        self.post("/api/public/v1/campaigns", body).await
    }

    /// A campaign's id, asserting 201.
    pub async fn campaign_id(&self, body: Value) -> String {
        self.create_campaign(body).await.expect(StatusCode::CREATED)["id"].string()
    }

    pub async fn run_campaign(&self, id: &str) -> Reply {
        self.post_empty(&format!("/api/public/v1/campaigns/{id}/run"))
            .await
    }

    pub async fn cancel_campaign(&self, id: &str) -> Reply {
        self.post_empty(&format!("/api/public/v1/campaigns/{id}/cancel"))
            .await
    }

    /// The campaign, asserting 200.
    pub async fn campaign(&self, id: &str) -> Value {
        self.get_ok(&format!("/api/public/v1/campaigns/{id}")).await["campaign"].clone()
    }

    /// `GET …/recipients{query}`.
    pub async fn recipients(&self, id: &str, query: &str) -> Reply {
        self.get(&format!("/api/public/v1/campaigns/{id}/recipients{query}"))
            .await
    }

    /// Every recipient, `limit` a page.
    pub async fn all_recipients(&self, id: &str, limit: usize) -> Vec<Value> {
        self.all_pages(
            &format!("/api/public/v1/campaigns/{id}/recipients?limit={limit}"),
            "recipients",
        )
        .await
    }

    // ------------------------------------------------------------- inbound settings

    /// A keyword rule; its id.
    pub async fn create_rule(&self, rule: Value) -> String {
        self.post("/api/auto-replies", rule)
            .await
            .expect(StatusCode::CREATED)["rule"]["id"]
            .string()
    }

    pub async fn enable_ai(&self, prompt: &str) {
        self.put(
            "/api/ai-settings",
            json!({"enabled": true, "systemPrompt": prompt, "fallbackLanguage": "Urdu"}),
        )
        .await
        .ok();
    }

    /// `GET /api/public/v1/analytics/summary?<query>`, asserting 200 (the whole answer, for
    /// its AWS call headers).
    pub async fn analytics(&self, query: &str) -> Reply {
        let r = self
            .get(&format!("/api/public/v1/analytics/summary?{query}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r
    }

    /// The reply log's first page.
    pub async fn reply_log(&self) -> Vec<Value> {
        self.get_ok("/api/auto-replies/log").await["entries"]
            .array()
            .clone()
    }

    /// Sets the webhook (`PUT /api/settings/webhook`, asserting 201); its secret.
    pub async fn configure_webhook(&self, url: &str, events: Option<Value>) -> String {
        let mut body = json!({ "url": url });
        if let Some(e) = events {
            body["events"] = e;
        }
        self.put("/api/settings/webhook", body)
            .await
            .expect(StatusCode::CREATED)["secret"]
            .string()
    }

    /// A message the sandbox device gets from `from`, asserting 202.
    pub async fn sandbox_says(&self, device: &str, from: &str, text: &str) -> Value {
        self.post(
            "/api/sandbox/inbound",
            json!({"deviceId": device, "from": from, "text": text}),
        )
        .await
        .expect(StatusCode::ACCEPTED)
    }

    /// `POST /api/team`.
    pub async fn add_member(&self, body: Value) -> Reply {
        self.post("/api/team", body).await
    }

    /// `POST /api/team`: invites `email` with `role`, asserting 201: the answer (`member`, `invitation`).
    pub async fn invite(&self, email: &str, role: &str) -> Value {
        self.add_member(json!({"email": email, "role": role}))
            .await
            .expect(StatusCode::CREATED)
    }

    /// `POST /api/keys`.
    pub async fn create_key(&self, body: Value) -> Reply {
        self.post("/api/keys", body).await
    }
}

/// What [`Tenant::cloud_device`] saves as the device's app secret.
pub const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// Each result's id, in order, of a contacts upsert report.
pub fn ids_of(report: &Value) -> Vec<String> {
    report["results"]
        .array()
        .iter()
        .map(|r| r["id"].string())
        .collect()
}

fn to_json(body: impl serde::Serialize) -> Value {
    serde_json::to_value(body).expect("a JSON body")
}

/// The answers among `replies` with `status` (how a burst of requests came out).
pub fn with_status(replies: &[Reply], status: StatusCode) -> Vec<&Reply> {
    replies.iter().filter(|r| r.status == status).collect()
}

/// The dev server's queue pollers and schedules for one app, stopped on drop.
pub struct Workers(Vec<JoinHandle<()>>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &self.0 {
            w.abort();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub http: Client,
    pub admin_key: String,
    pub state: AppState,
    pub server: DevServer,
    pub clock: Clock,
    _served: Served,
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(TestOptions::default()).await
    }

    /// A fresh app with one tenant on `plan`, where most tests begin.
    pub async fn with_tenant(plan: &str) -> (TestApp, Tenant) {
        let app = Self::start().await;
        let tenant = app.tenant(plan).await;
        (app, tenant)
    }

    /// [`TestApp::with_tenant`] with a key that allows 10,000 requests a minute.
    pub async fn with_roomy_tenant(plan: &str) -> (TestApp, Tenant) {
        let app = Self::start().await;
        let tenant = app.roomy_tenant(plan).await;
        (app, tenant)
    }

    pub async fn start_with(opts: TestOptions) -> TestApp {
        let admin_key = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let mut local = LocalOptions::new(opts.template.clone(), unique_prefix());
        local.admin_key = admin_key.clone();
        local.clock = opts.clock.clone();
        local.visibility_timeout = opts.visibility_timeout;
        local
            .overrides
            .insert("EXPOSE_AWS_CALL_COUNTS".into(), "true".into());
        for (k, v) in opts.overrides {
            local.overrides.insert(k, v);
        }
        let extra = opts.extra_functions;
        let assets = opts.assets;
        let started = start_with(local, local_aws().await, move |state| {
            let mut f = registry(state);
            if let Some(extra) = extra {
                extra(state, &mut f);
            }
            f
        })
        .await
        .unwrap_or_else(|e| {
            panic!("local stack not reachable ({e}): run the tests with `make test`")
        });
        let server = match assets {
            Some(dir) => started.server.with_assets(dir),
            None => started.server,
        };
        let served = serve(server.app()).await;
        TestApp {
            base: served.base.clone(),
            http: crate::http_client(),
            admin_key,
            state: started.state,
            server,
            clock: opts.clock,
            _served: served,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A caller with this token (a made-up or another tenant's key).
    pub fn with_key(&self, key: &str) -> Api {
        self.caller(Some(key))
    }

    /// A caller without credentials.
    pub fn anonymous(&self) -> Api {
        self.caller(None)
    }

    /// Meta's webhook call to a tenant, with `X-Hub-Signature-256: signature` if given.
    pub async fn post_meta_webhook(
        &self,
        tenant_id: &str,
        body: &str,
        signature: Option<&str>,
    ) -> Reply {
        let api = self.anonymous();
        let mut req = api
            .builder(
                Method::POST,
                &format!("/api/public/cloud-api-webhook/{tenant_id}"),
            )
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        api.send(req).await
    }

    /// Meta's webhook call signed with the test devices' app secret; expects 200.
    pub async fn from_meta(&self, tenant_id: &str, body: &str) -> Value {
        let signature = crate::shared::sign(APP_SECRET, body.as_bytes());
        self.post_meta_webhook(tenant_id, body, Some(&signature))
            .await
            .ok()
    }

    /// `POST /api/auth/login`, without credentials.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        let body = json!({"email": email, "password": password});
        self.anonymous().post("/api/auth/login", body).await
    }

    /// `POST /api/auth/accept-invitation`, without credentials.
    pub async fn accept_invitation(&self, token: &str, password: &str) -> Reply {
        let body = json!({"token": token, "password": password});
        self.anonymous()
            .post("/api/auth/accept-invitation", body)
            .await
    }

    /// `wati-admin` with these arguments, against this app's table: what it prints.
    pub async fn cli(&self, args: &[&str]) -> Result<String, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        crate::shared::admin_cli(&self.state, &args).await
    }

    /// A caller with this token, or none.
    pub fn caller(&self, token: Option<&str>) -> Api {
        Api {
            base: self.base.clone(),
            http: self.http.clone(),
            token: token.map(str::to_string),
        }
    }

    /// The platform admin.
    pub fn admin(&self) -> Api {
        self.with_key(&self.admin_key)
    }

    /// A new tenant on `plan`, asserting 201.
    pub async fn tenant(&self, plan: &str) -> Tenant {
        let body = self
            .admin()
            .post(
                "/api/admin/tenants",
                json!({"name": format!("Tenant {plan}"), "plan": plan}),
            )
            .await
            .expect(StatusCode::CREATED);
        let key = body["apiKey"].string();
        Tenant {
            id: body["tenant"]["id"].string(),
            api: self.with_key(&key),
            key,
            body,
        }
    }

    /// A tenant whose key allows 10,000 requests a minute.
    pub async fn roomy_tenant(&self, plan: &str) -> Tenant {
        let t = self.tenant(plan).await;
        t.roomy_key().await;
        t
    }

    /// The platform admin sets a tenant's limits, asserting 200.
    pub async fn set_limits(&self, tenant_id: &str, limits: Value) -> Value {
        self.admin()
            .patch(
                &format!("/api/admin/tenants/{tenant_id}"),
                json!({ "limits": limits }),
            )
            .await
            .ok()
    }

    /// The dev server's queue pollers and schedules, until the result is dropped.
    pub fn spawn_workers(&self) -> Workers {
        Workers(self.server.spawn_workers())
    }

    /// The scheduler's handler, given the job EventBridge would send (`minute`, `daily`).
    pub async fn scheduler(&self, job: &str) -> TickReport {
        crate::shared::scheduler_run(&self.state, &json!({ "job": job }))
            .await
            .unwrap_or_else(|e| panic!("scheduler {job}: {e}"))
    }

    /// A queue of the stack by its logical id.
    pub fn queue(&self, logical_id: &str) -> LocalQueue {
        self.server
            .stack
            .queues
            .get(logical_id)
            .cloned()
            .unwrap_or_else(|| panic!("no queue {logical_id}"))
    }

    /// The SQS handler registered for a function's code URI.
    pub fn sqs_handler(&self, code_uri: &str) -> SqsHandler {
        self.server
            .functions
            .sqs
            .get(code_uri)
            .cloned()
            .unwrap_or_else(|| panic!("no SQS handler for {code_uri}"))
    }

    /// One poll of `queue` into `handler`, as the dev server does; how many it got.
    pub async fn poll(&self, queue: &LocalQueue, handler: &SqsHandler) -> usize {
        poll_once(
            &self.state.aws.sqs,
            &queue.url,
            &queue.arn,
            10,
            true,
            handler,
        )
        .await
        .unwrap_or_else(|e| panic!("polling {}: {e}", queue.name))
    }

    /// Polls `queue` into `handler` for `secs`; how many messages it handed over.
    pub async fn drain_for(&self, queue: &LocalQueue, handler: &SqsHandler, secs: u64) -> usize {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut seen = 0;
        while Instant::now() < deadline {
            let n = self.poll(queue, handler).await;
            seen += n;
            if n == 0 {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
        seen
    }

    /// One receive from `queue`: at most `max` messages (invisible for `visibility` seconds
    /// when given); none when nothing is visible.
    pub async fn receive_once(
        &self,
        queue: &LocalQueue,
        max: i32,
        visibility: Option<i32>,
    ) -> Vec<aws_sdk_sqs::types::Message> {
        let mut req = self
            .state
            .aws
            .sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(max);
        if let Some(v) = visibility {
            req = req.visibility_timeout(v);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("receive from {}: {e}", queue.name))
            .messages
            .unwrap_or_default()
    }

    /// Messages taken off `queue` (invisible for `visibility` seconds), exactly `want` of
    /// them within 15 s.
    pub async fn receive(
        &self,
        queue: &LocalQueue,
        want: usize,
        visibility: Option<i32>,
    ) -> Vec<aws_sdk_sqs::types::Message> {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        while out.len() < want && Instant::now() < deadline {
            let messages = self.receive_once(queue, 10, visibility).await;
            if messages.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            out.extend(messages);
        }
        assert_eq!(out.len(), want, "messages on {}", queue.name);
        out
    }
}

/// Racing creations against a cap: exactly `n` were created (201) and every other one was
/// refused with 409 and `refusal`. The created bodies.
pub fn created_within_cap<'a>(results: &'a [Reply], n: usize, refusal: &str) -> Vec<&'a Value> {
    let created: Vec<&Value> = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| &r.body)
        .collect();
    assert_eq!(created.len(), n, "{results:?}");
    for r in results.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::CONFLICT, Some(refusal))
        );
    }
    created
}
