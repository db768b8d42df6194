//! Records and their headers: what flows between the nodes of a topology.

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
/// An empty `Headers` does not allocate, so records without headers cost nothing extra.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Headers(Vec::new())
    }

    /// Appends a header (Kafka's `Headers.add`).
    pub fn add(&mut self, key: impl Into<String>, value: Option<&[u8]>) -> &mut Self {
        self.0.push(Header {
            key: key.into(),
            value: value.map(<[u8]>::to_vec),
        });
        self
    }

    /// Removes every header with this key (Kafka's `Headers.remove`).
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.0.retain(|h| h.key != key);
        self
    }

    /// The last header with this key (Kafka's `Headers.lastHeader`).
    pub fn last_header(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }

    /// Every header with this key, in order.
    pub fn headers<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.0.iter().filter(move |h| h.key == key)
    }

    /// All headers, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
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
