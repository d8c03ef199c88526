//! The one per-instance cache: values kept for a fixed time, so what was read from Secrets
//! Manager (a rotated token, a new admin key) takes effect without a redeploy.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The value, while it is fresh.
    pub async fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let entries = self.entries.read().await;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub async fn insert(&self, key: K, value: V) {
        self.entries
            .write()
            .await
            .insert(key, (Instant::now(), value));
    }

    pub async fn remove<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.entries.write().await.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_expire_and_can_be_dropped() {
        let cache = TtlCache::new(Duration::from_millis(30));
        cache.insert("a", 1).await;
        assert_eq!(cache.get(&"a").await, Some(1));
        cache.remove(&"a").await;
        assert_eq!(cache.get(&"a").await, None);
        cache.insert("b", 2).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get(&"b").await, None);
    }
}
