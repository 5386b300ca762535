//! Listing keys by prefix, one page at a time or as an iterator that
//! walks every page.

use serde::de::DeserializeOwned;

use super::KvError;
use crate::host;

/// The most entries the host returns in one page.
pub(crate) const MAX_PAGE: u32 = 1000;

/// One key and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value's bytes.
    pub value: Vec<u8>,
}

impl Entry {
    /// The value as UTF-8 text (invalid bytes replaced).
    pub fn value_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }

    /// The value parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, KvError> {
        super::from_json(&self.value)
    }
}

/// A listing of the keys under a prefix, from [`kv::list`](super::list).
///
/// [`List::page`] reads one page. Iterating walks every page: the host may
/// return fewer entries than asked (when their values are large), so the
/// walk asks again after the last key until a page comes back empty.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a listing reads nothing until paged or iterated"]
pub struct List {
    prefix: String,
    start_after: Option<String>,
    limit: u32,
}

impl List {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            start_after: None,
            limit: MAX_PAGE,
        }
    }

    /// Starts after `key` (the last key of the previous page, to resume).
    pub fn start_after(mut self, key: &str) -> Self {
        self.start_after = Some(key.to_owned());
        self
    }

    /// At most `n` entries a page (1 to 1000, the default; 0 reads as 1).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = n.clamp(1, MAX_PAGE);
        self
    }

    /// One page: at most `limit` entries, maybe fewer even when more
    /// remain. Resume with [`List::start_after`] and the last key.
    pub fn page(&self) -> Result<Vec<Entry>, KvError> {
        host::kv_list(&self.prefix, self.start_after.as_deref(), self.limit)
    }

    /// Every key under the prefix (values are read and dropped).
    pub fn keys(self) -> impl Iterator<Item = Result<String, KvError>> {
        self.into_iter().map(|e| e.map(|e| e.key))
    }
}

impl IntoIterator for List {
    type Item = Result<Entry, KvError>;
    type IntoIter = Entries;

    fn into_iter(self) -> Entries {
        Entries {
            list: self,
            page: Vec::new().into_iter(),
            done: false,
        }
    }
}

/// Every entry of a [`List`], page after page. An error ends the walk
/// after it is returned.
#[derive(Debug)]
pub struct Entries {
    list: List,
    page: std::vec::IntoIter<Entry>,
    done: bool,
}

impl Iterator for Entries {
    type Item = Result<Entry, KvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entry) = self.page.next() {
            return Some(Ok(entry));
        }
        if self.done {
            return None;
        }
        match self.list.page() {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(page) => {
                let Some(last) = page.last() else {
                    self.done = true;
                    return None;
                };
                self.list.start_after = Some(last.key.clone());
                self.page = page.into_iter();
                self.page.next().map(Ok)
            }
        }
    }
}
