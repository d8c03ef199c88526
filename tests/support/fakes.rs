//! Every outside party the app talks to, as local HTTP servers started together: Meta's
//! Graph API, the AI provider, a file host for media URLs and the tenant's webhook receiver.

use crate::app::{sending_options, TestOptions};
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
