//! Records and their headers: what flows between the nodes of a topology.

use std::sync::OnceLock;

/// One header of a record: a key and an optional (possibly null) value, as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header key.
    pub key: String,
    /// The header value; `None` is Kafka's null header value.
    pub value: Option<Vec<u8>>,
}

/// The ordered headers of a record. Duplicate keys are allowed, as in Kafka.
///
/// An empty `Headers` does not allocate, so records without headers cost nothing extra; the
/// headers of a non-empty one live in one byte buffer, whatever their number. The [`Header`]
/// values that [`iter`](Self::iter), [`last_header`](Self::last_header) and
/// [`headers`](Self::headers) lend are built on the first such call (records that only pass
/// through never build them).
#[derive(Default)]
pub struct Headers(Option<Box<Encoded>>);

/// The headers of a non-empty [`Headers`].
struct Encoded {
    /// Every header in order, as [`encode`] writes it.
    bytes: Vec<u8>,
    /// How many headers `bytes` holds.
    count: usize,
    /// The headers as `Header` values, built on first borrow; every change resets it.
    owned: OnceLock<Vec<Header>>,
}

/// The length written for a null header value (no slice is that long).
const NULL_VALUE: usize = usize::MAX;

/// Appends one header to `out`: the key's length (a native-endian `usize`), the key, the
/// value's length ([`NULL_VALUE`] for null) and the value.
pub(crate) fn encode(out: &mut Vec<u8>, key: &str, value: Option<&[u8]>) {
    out.extend_from_slice(&key.len().to_ne_bytes());
    out.extend_from_slice(key.as_bytes());
    match value {
        Some(v) => {
            out.extend_from_slice(&v.len().to_ne_bytes());
            out.extend_from_slice(v);
        }
        None => out.extend_from_slice(&NULL_VALUE.to_ne_bytes()),
    }
}

/// The headers [`encode`] wrote into `bytes`, in order, as borrowed (key, value) pairs.
fn decode(mut bytes: &[u8]) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
    /// Takes a length off the front of `bytes`.
    fn length(bytes: &mut &[u8]) -> Option<usize> {
        let (n, rest) = bytes.split_first_chunk::<{ size_of::<usize>() }>()?;
        *bytes = rest;
        Some(usize::from_ne_bytes(*n))
    }
    /// Takes `n` bytes off the front of `bytes`.
    fn part<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (part, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(part)
    }
    std::iter::from_fn(move || {
        let key_len = length(&mut bytes)?;
        let key = part(&mut bytes, key_len)?;
        let value = match length(&mut bytes)? {
            NULL_VALUE => None,
            n => Some(part(&mut bytes, n)?),
        };
        // Keys are written from `str`s only.
        Some((std::str::from_utf8(key).unwrap_or_default(), value))
    })
}

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Headers(None)
    }

    /// Headers from the `count` headers [`encode`] wrote into `bytes` (one copy of them).
    pub(crate) fn from_encoded(bytes: &[u8], count: usize) -> Self {
        if count == 0 {
            return Headers::new();
        }
        Headers(Some(Box::new(Encoded {
            bytes: bytes.to_vec(),
            count,
            owned: OnceLock::new(),
        })))
    }

    /// Appends a header (Kafka's `Headers.add`).
    pub fn add(&mut self, key: impl Into<String>, value: Option<&[u8]>) -> &mut Self {
        self.push(&key.into(), value)
    }

    /// Appends a header without taking ownership of its key.
    pub(crate) fn push(&mut self, key: &str, value: Option<&[u8]>) -> &mut Self {
        let encoded = self.0.get_or_insert_with(|| {
            Box::new(Encoded {
                bytes: Vec::new(),
                count: 0,
                owned: OnceLock::new(),
            })
        });
        encode(&mut encoded.bytes, key, value);
        encoded.count += 1;
        encoded.owned = OnceLock::new();
        self
    }

    /// Removes every header with this key (Kafka's `Headers.remove`).
    pub fn remove(&mut self, key: &str) -> &mut Self {
        if !self.entries().any(|(k, _)| k == key) {
            return self;
        }
        let mut rest = Headers::new();
        for (k, v) in self.entries().filter(|(k, _)| *k != key) {
            rest.push(k, v);
        }
        *self = rest;
        self
    }

    /// The last header with this key (Kafka's `Headers.lastHeader`).
    pub fn last_header(&self, key: &str) -> Option<&Header> {
        self.owned().iter().rev().find(|h| h.key == key)
    }

    /// Every header with this key, in order.
    pub fn headers<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.owned().iter().filter(move |h| h.key == key)
    }

    /// All headers, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.owned().iter()
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |e| e.count)
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All headers, in order, borrowed from the buffer (nothing is built).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        decode(self.bytes())
    }

    /// The encoded headers (empty when there are none).
    fn bytes(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], |e| &e.bytes)
    }

    /// The headers as `Header` values, built on the first call.
    fn owned(&self) -> &[Header] {
        let Some(encoded) = &self.0 else {
            return &[];
        };
        encoded.owned.get_or_init(|| {
            decode(&encoded.bytes)
                .map(|(key, value)| Header {
                    key: key.to_owned(),
                    value: value.map(<[u8]>::to_vec),
                })
                .collect()
        })
    }
}

impl Clone for Headers {
    fn clone(&self) -> Self {
        Headers::from_encoded(self.bytes(), self.len())
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        // The encoding is a function of the headers, so equal headers have equal bytes.
        self.bytes() == other.bytes()
    }
}

impl Eq for Headers {}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Headers").field(&self.owned()).finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A record flowing through a topology: key, value, event timestamp (ms) and headers
/// (Java's `org.apache.kafka.streams.processor.api.Record`).
///
/// Absent keys or values are modelled in the types: a topology that reads nullable values
/// declares `Option<V>` as its value type.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<K, V> {
    /// The record key.
    pub key: K,
    /// The record value.
    pub value: V,
    /// The event timestamp in milliseconds since the epoch.
    pub timestamp: i64,
    /// The record headers.
    pub headers: Headers,
}

impl<K, V> Record<K, V> {
    /// A record without headers.
    pub fn new(key: K, value: V, timestamp: i64) -> Self {
        Record {
            key,
            value,
            timestamp,
            headers: Headers::new(),
        }
    }

    /// The same record with another key (and possibly another key type).
    pub fn with_key<K2>(self, key: K2) -> Record<K2, V> {
        Record {
            key,
            value: self.value,
            timestamp: self.timestamp,
            headers: self.headers,
        }
    }

    /// The same record with another value (and possibly another value type).
    pub fn with_value<V2>(self, value: V2) -> Record<K, V2> {
        Record {
            key: self.key,
            value,
            timestamp: self.timestamp,
            headers: self.headers,
        }
    }

    /// The same record with its value mapped from the key and the value (keeping timestamp and
    /// headers).
    #[inline]
    pub fn map_value<V2>(self, f: impl FnOnce(&K, V) -> V2) -> Record<K, V2> {
        let value = f(&self.key, self.value);
        Record {
            key: self.key,
            value,
            timestamp: self.timestamp,
            headers: self.headers,
        }
    }

    /// The same record with another timestamp.
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The same record with other headers.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }
}

/// Where the record being processed came from: its topic, partition and offset.
///
/// Absent during punctuation, as in Java.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The source topic.
    pub topic: &'static str,
    /// The source partition.
    pub partition: i32,
    /// The offset within the partition.
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(key: &str, value: Option<&[u8]>) -> Header {
        Header {
            key: key.to_owned(),
            value: value.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn headers_keep_order_duplicates_and_null_values() {
        let mut headers = Headers::new();
        assert!(headers.is_empty());
        assert_eq!(headers.iter().count(), 0);
        headers
            .add("trace", Some(b"1"))
            .add(String::from("empty"), Some(b""))
            .add("null", None)
            .add("trace", Some(b"2"));
        assert_eq!(headers.len(), 4);
        assert_eq!(
            headers.iter().cloned().collect::<Vec<_>>(),
            [
                header("trace", Some(b"1")),
                header("empty", Some(b"")),
                header("null", None),
                header("trace", Some(b"2")),
            ]
        );
        assert_eq!(headers.last_header("trace"), Some(&header("trace", Some(b"2"))));
        assert_eq!(headers.last_header("null"), Some(&header("null", None)));
        assert_eq!(headers.last_header("absent"), None);
        assert_eq!(
            headers.headers("trace").map(|h| h.value.as_deref()).collect::<Vec<_>>(),
            [Some(&b"1"[..]), Some(&b"2"[..])]
        );
        assert_eq!(
            headers.entries().collect::<Vec<_>>(),
            [
                ("trace", Some(&b"1"[..])),
                ("empty", Some(&b""[..])),
                ("null", None),
                ("trace", Some(&b"2"[..])),
            ]
        );
    }

    #[test]
    fn changes_after_a_borrow_are_seen() {
        let mut headers = Headers::new();
        headers.add("a", Some(b"1"));
        assert_eq!(headers.iter().count(), 1);
        headers.add("b", None);
        assert_eq!(
            (&headers).into_iter().map(|h| h.key.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        headers.remove("a");
        assert_eq!(headers.iter().cloned().collect::<Vec<_>>(), [header("b", None)]);
        headers.remove("absent");
        assert_eq!(headers.len(), 1);
        headers.remove("b");
        assert!(headers.is_empty());
        assert_eq!(headers, Headers::new(), "emptied headers equal new ones");
    }

    #[test]
    fn equality_clone_and_debug_follow_the_headers() {
        let mut one = Headers::new();
        one.add("k", Some(b"v")).add("n", None);
        let mut two = Headers::new();
        two.add("k", Some(b"v"));
        assert_ne!(one, two);
        two.add("n", None);
        assert_eq!(one, two);
        let copy = one.clone();
        assert_eq!(copy, one);
        assert_eq!(
            format!("{copy:?}"),
            r#"Headers([Header { key: "k", value: Some([118]) }, Header { key: "n", value: None }])"#
        );
        let mut bytes = Vec::new();
        encode(&mut bytes, "k", Some(b"v"));
        encode(&mut bytes, "n", None);
        assert_eq!(Headers::from_encoded(&bytes, 2), one);
        assert_eq!(Headers::from_encoded(&[], 0), Headers::new());
    }
}
