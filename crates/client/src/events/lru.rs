//! A bounded map that forgets its least recently used entry when full: the correlator's
//! caches (upstream keeps 4096 entries in each).

use std::collections::HashMap;

/// A least-recently-used cache from string keys to `V`.
#[derive(Debug, Clone)]
pub(crate) struct Lru<V> {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (V, u64)>,
}

impl<V> Lru<V> {
    /// An empty cache holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
        }
    }

    fn touch(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// The entry of `key`, marked as just used.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let now = self.touch();
        self.entries.get_mut(key).map(|(v, used)| {
            *used = now;
            v
        })
    }

    /// Evicts the least recently used entry when the cache is full.
    fn make_room(&mut self) {
        if self.entries.len() < self.capacity {
            return;
        }
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, (_, used))| *used)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.entries.remove(&k);
        }
    }

    /// Sets `key` to `value`, evicting the least recently used entry when full.
    pub(crate) fn insert(&mut self, key: String, value: V) {
        if !self.entries.contains_key(&key) {
            self.make_room();
        }
        let now = self.touch();
        self.entries.insert(key, (value, now));
    }

    /// The entry of `key`, inserting `make()` first when absent; marked as just used.
    pub(crate) fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        if !self.entries.contains_key(key) {
            self.make_room();
        }
        let now = self.touch();
        let (v, used) = self
            .entries
            .entry(key.to_string())
            .or_insert_with(|| (make(), now));
        *used = now;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = Lru::new(2);
        c.insert("a".into(), 1);
        c.insert("b".into(), 2);
        assert_eq!(c.get_mut("a").copied(), Some(1)); // b is now the oldest
        c.insert("c".into(), 3);
        assert_eq!(c.get_mut("b"), None);
        assert_eq!(c.get_mut("a").copied(), Some(1));
        assert_eq!(c.get_mut("c").copied(), Some(3));
        *c.get_or_insert_with("d", || 4) += 10;
        assert_eq!(c.get_mut("d").copied(), Some(14));
        assert_eq!(c.get_mut("a"), None);
    }
}
