//! A cache of text, bounded in bytes, that forgets its oldest entries first: what the per-instance caches
//! of rendered messages (`services::chat::markdown`) and of opened tokens (`support::at_rest`) share. The
//! values it holds never change for their key, so there is nothing to invalidate, only room to make.

use std::{
    borrow::Borrow,
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::Arc,
};

/// The keys are tokens and ids this server made, never text chosen by a client, so a fast seeded hash is
/// enough (SipHash was a quarter of the cost of opening a cached token).
type Entries<K> = HashMap<K, (usize, Arc<str>), foldhash::fast::RandomState>;

pub struct FifoCache<K> {
    entries: Entries<K>,
    order: VecDeque<K>,
    bytes: usize,
    budget: usize,
}

impl<K: Hash + Eq + Clone> FifoCache<K> {
    /// A cache holding at most `budget` bytes (each entry weighs what its inserter says).
    pub fn new(budget: usize) -> Self {
        FifoCache { entries: Entries::default(), order: VecDeque::new(), bytes: 0, budget }
    }

    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<Arc<str>>
    where
        K: Borrow<Q>,
    {
        self.entries.get(key).map(|(_, value)| value.clone())
    }

    /// Keeps `value` under `key`, counted as `weight` bytes (the value, and the key if it is large).
    pub fn insert(&mut self, key: K, value: Arc<str>, weight: usize) {
        if weight > self.budget {
            return;
        }
        if let Some((old, _)) = self.entries.insert(key.clone(), (weight, value)) {
            self.bytes -= old;
        } else {
            self.order.push_back(key);
        }
        self.bytes += weight;
        while self.bytes > self.budget {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some((evicted, _)) = self.entries.remove(&oldest) {
                self.bytes -= evicted;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FifoCache;

    #[test]
    fn the_oldest_entries_go_first_beyond_the_budget() {
        let mut cache = FifoCache::new(10);
        cache.insert("a", "aaaa".into(), 4);
        cache.insert("b", "bbbb".into(), 4);
        cache.insert("c", "cccc".into(), 4);
        assert!(cache.get("a").is_none(), "the oldest went first");
        assert_eq!(cache.get("b").as_deref(), Some("bbbb"));
        assert_eq!(cache.get("c").as_deref(), Some("cccc"));
        cache.insert("huge", "x".repeat(11).into(), 11);
        assert!(cache.get("huge").is_none(), "what can never fit is not kept");
    }
}
