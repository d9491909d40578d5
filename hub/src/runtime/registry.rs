//! A list of kinds, each found by its name: what the hub's plug-in points (the provider
//! kinds, the channel kinds) share, so that each keeps only its own type erasure.

use std::fmt;
use std::sync::Arc;

/// Kinds in list order, each under the name a configuration gives it (`kind = "<name>"`),
/// names unique.
pub struct Registry<K: ?Sized> {
    kinds: Vec<(&'static str, Arc<K>)>,
}

impl<K: ?Sized> Registry<K> {
    /// No kinds at all.
    pub fn new() -> Self {
        Registry { kinds: Vec::new() }
    }

    /// Adds `kind` at the end, or in the place of the one of the same name.
    pub fn insert(&mut self, name: &'static str, kind: Arc<K>) {
        match self.position(name) {
            Some(i) => self.kinds[i] = (name, kind),
            None => self.kinds.push((name, kind)),
        }
    }

    /// The kinds' names, in list order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|(name, _)| *name).collect()
    }

    /// The kind named `name`, with its name as registered.
    pub fn get(&self, name: &str) -> Option<(&'static str, &K)> {
        self.kinds
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(known, kind)| (*known, &**kind))
    }

    /// The place in the list of the kind named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.kinds.iter().position(|(known, _)| *known == name)
    }
}

impl<K: ?Sized> Default for Registry<K> {
    fn default() -> Self {
        Registry::new()
    }
}

// By hand: a derived `Clone` would ask `K: Clone`, which a trait object is not.
impl<K: ?Sized> Clone for Registry<K> {
    fn clone(&self) -> Self {
        Registry {
            kinds: self.kinds.clone(),
        }
    }
}

/// The names, as a list.
impl<K: ?Sized> fmt::Debug for Registry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_of_a_known_name_replaces_the_old_one_in_its_place() {
        let mut kinds = Registry::new();
        kinds.insert("queue", Arc::new(1));
        kinds.insert("http", Arc::new(1));
        kinds.insert("queue", Arc::new(2));
        assert_eq!(kinds.names(), ["queue", "http"]);
        assert_eq!(kinds.get("queue"), Some(("queue", &2)));
        assert_eq!(kinds.position("http"), Some(1));
        assert!(kinds.get("soap").is_none());
        assert_eq!(format!("{kinds:?}"), r#"["queue", "http"]"#);
    }
}
