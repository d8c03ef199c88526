//! The one retry helper: an operation tried again, with jittered exponential backoff, while
//! it says the failure is worth another try (a lost race, a throttled call, a contended
//! item) and attempts remain.

use std::future::Future;
use std::time::Duration;

/// How an attempt failed: worth trying again, or final.
#[derive(Debug)]
pub enum Retry<E> {
    Again(E),
    Stop(E),
}

/// `?` inside a retried operation stops the retries: only `Retry::Again` tries again.
impl<E> From<E> for Retry<E> {
    fn from(e: E) -> Self {
        Retry::Stop(e)
    }
}

/// How many attempts, and the first backoff (doubled after each failed attempt, up to 64
/// times itself, half fixed and half random so retrying writers spread out).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub attempts: u32,
    pub base: Duration,
}

impl Backoff {
    pub const fn new(attempts: u32) -> Self {
        Backoff {
            attempts,
            base: Duration::from_millis(20),
        }
    }

    pub const fn base(self, base: Duration) -> Self {
        Backoff { base, ..self }
    }

    /// Sleeps before attempt `attempt + 1` (the first retry is `attempt` 0).
    pub async fn pause(&self, attempt: u32) {
        let base = u64::try_from(self.base.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(1 << attempt.min(6));
        let mut b = [0u8; 2];
        let jitter = getrandom::fill(&mut b)
            .map(|_| u64::from(u16::from_le_bytes(b)) % base.max(1))
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(base / 2 + jitter / 2)).await;
    }
}

/// Runs `op(attempt)` (attempt counts from 0) until it succeeds, stops, or `policy.attempts`
/// attempts have failed with `Retry::Again`; the last error is returned.
pub async fn retry<T, E, F, Fut>(policy: Backoff, mut op: F) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Retry<E>>>,
{
    let mut attempt = 0;
    loop {
        match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(Retry::Stop(e)) => return Err(e),
            Err(Retry::Again(e)) if attempt + 1 >= policy.attempts.max(1) => return Err(e),
            Err(Retry::Again(_)) => {
                policy.pause(attempt).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast(attempts: u32) -> Backoff {
        Backoff::new(attempts).base(Duration::from_millis(1))
    }

    #[tokio::test]
    async fn retries_until_success() {
        let tries = AtomicU32::new(0);
        let out: Result<u32, &str> = retry(fast(5), |attempt| {
            tries.fetch_add(1, Ordering::SeqCst);
            async move {
                match attempt {
                    0 | 1 => Err(Retry::Again("lost")),
                    n => Ok(n),
                }
            }
        })
        .await;
        assert_eq!(out, Ok(2));
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt_with_its_error() {
        let tries = AtomicU32::new(0);
        let out: Result<(), u32> = retry(fast(3), |attempt| {
            tries.fetch_add(1, Ordering::SeqCst);
            async move { Err(Retry::Again(attempt)) }
        })
        .await;
        assert_eq!(out, Err(2));
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_stop_is_final() {
        let tries = AtomicU32::new(0);
        let out: Result<(), &str> = retry(fast(5), |_| {
            tries.fetch_add(1, Ordering::SeqCst);
            async { Err("broken")? }
        })
        .await;
        assert_eq!(out, Err("broken"));
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }
}
