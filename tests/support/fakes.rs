//! Every outside party the app talks to, as local HTTP servers started together: Meta's
//! Graph API, the AI provider, a file host for media URLs and the tenant's webhook receiver.

use crate::app::{sending_options, Tenant, TestApp, TestOptions, Workers};
use crate::fake_ai::{FakeAi, Mode};
use crate::fake_files::FakeFiles;
use crate::fake_meta::FakeMeta;
use crate::webhooks::{Answer, Receiver};

/// What the fake AI answers until a test says otherwise.
pub const AI_REPLY: &str = "Hello! How can I help?";

pub struct Fakes {
    pub meta: FakeMeta,
    pub ai: FakeAi,
    pub files: FakeFiles,
    /// Answers 200 until a test scripts it.
    pub receiver: Receiver,
}

impl Fakes {
    pub async fn spawn() -> Fakes {
        Fakes {
            meta: FakeMeta::start().await,
            ai: FakeAi::start(Mode::Reply(AI_REPLY.into())).await,
            files: FakeFiles::start().await,
            receiver: Receiver::start(vec![], Answer::Status(200)).await,
        }
    }

    /// [`sending_options`] on these fakes, with the AI provider answering within 1 s.
    pub fn options(&self) -> TestOptions {
        sending_options(&self.meta.base)
            .with("AI_BASE_URL", &self.ai.base_url)
            .with("AI_API_KEY", "test-ai-key")
            .with("AI_TIMEOUT_SECONDS", "1")
    }
}

/// A tenant with a Cloud API device on the fake Graph API, its webhook on the fake
/// receiver, and the workers running: where media and template tests begin.
pub struct CloudTenant {
    pub app: TestApp,
    pub meta: FakeMeta,
    pub tenant: Tenant,
    pub device: String,
    pub receiver: Receiver,
    _workers: Workers,
}

impl Fakes {
    /// An app on [`Fakes::options`] (with roomy keys, then `tweak`), and a tenant whose
    /// Cloud API device `phone_number_id` Meta knows by `token`.
    pub async fn cloud_tenant(
        self,
        tweak: impl FnOnce(TestOptions) -> TestOptions,
        phone_number_id: &str,
        token: &str,
    ) -> CloudTenant {
        let app = TestApp::start_with(tweak(self.options().roomy_keys())).await;
        let tenant = app.roomy_tenant("pro").await;
        let device = tenant
            .cloud_device(&self.meta, phone_number_id, token)
            .await;
        tenant.configure_webhook(&self.receiver.url, None).await;
        let workers = app.spawn_workers();
        CloudTenant {
            app,
            meta: self.meta,
            tenant,
            device,
            receiver: self.receiver,
            _workers: workers,
        }
    }
}
