//! A list of kinds, each found by its name: what the hub's plug-in points (the provider
//! kinds, the channel kinds) share, so that each keeps only its own type erasure.

use std::fmt;
use std::sync::Arc;

/// A kind that a configuration names (`kind = "<name>"`).
pub trait Named {
    fn name(&self) -> &'static str;
}

/// Kinds in list order, names unique.
pub struct Registry<K: ?Sized> {
    kinds: Vec<Arc<K>>,
}

impl<K: ?Sized + Named> Registry<K> {
    /// No kinds at all.
    pub fn new() -> Self {
        Registry { kinds: Vec::new() }
    }

    /// Adds `kind` at the end, or in the place of the one of the same name.
    pub fn insert(&mut self, kind: Arc<K>) {
        match self.position(kind.name()) {
            Some(i) => self.kinds[i] = kind,
            None => self.kinds.push(kind),
        }
    }

    /// The kinds' names, in list order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// The kind named `name`.
    pub fn get(&self, name: &str) -> Option<&K> {
        self.kinds.iter().find(|k| k.name() == name).map(|k| &**k)
    }

    /// The place in the list of the kind named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.kinds.iter().position(|k| k.name() == name)
    }
}

impl<K: ?Sized + Named> Default for Registry<K> {
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
impl<K: ?Sized + Named> fmt::Debug for Registry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Kind(&'static str, u8);

    impl Named for Kind {
        fn name(&self) -> &'static str {
            self.0
        }
    }

    #[test]
    fn a_kind_of_a_known_name_replaces_the_old_one_in_its_place() {
        let mut kinds = Registry::new();
        kinds.insert(Arc::new(Kind("queue", 1)));
        kinds.insert(Arc::new(Kind("http", 1)));
        kinds.insert(Arc::new(Kind("queue", 2)));
        assert_eq!(kinds.names(), ["queue", "http"]);
        assert_eq!(kinds.get("queue").map(|k| k.1), Some(2));
        assert_eq!(kinds.position("http"), Some(1));
        assert!(kinds.get("soap").is_none());
        assert_eq!(format!("{kinds:?}"), r#"["queue", "http"]"#);
    }
}
