//! Window and session stores as `#[store]` fields of Processor API nodes, through the test
//! driver: typed reads, retention, and the changelog records Java's layout prescribes.

use streams_runtime::prelude::*;

/// Counts each key's records per 10 ms window and forwards the key's counts of the last 30 ms.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct WindowCounter {
    #[store("window-counts")]
    counts: WindowStore<String, i64>,
}

impl Processor for WindowCounter {
    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        let start = record.timestamp / 10 * 10;
        let count = self.counts.get(&record.key, start)?.unwrap_or(0) + 1;
        self.counts.put(&record.key, &count, start)?;
        let recent: Vec<String> = self
            .counts
            .fetch(&record.key, start - 20, start)?
            .map(|e| e.map(|(start, count)| format!("{start}:{count}")))
            .collect::<Result<_, _>>()?;
        ctx.forward(Record::new(record.key, recent.join(" "), record.timestamp))
    }
}

/// Keeps one session per key: a record within 5 ms of the key's last session extends it.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Sessionizer {
    #[store("sessions")]
    sessions: SessionStore<String, i64>,
}

impl Processor for Sessionizer {
    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        let t = record.timestamp;
        let mut window = Window::new(t, t);
        let mut count = 1;
        for found in self.sessions.find_sessions(&record.key, t - 5, t + 5)? {
            let (session, n) = found?;
            self.sessions.remove(&session)?;
            window = Window::new(
                window.start.min(session.window.start),
                window.end.max(session.window.end),
            );
            count += n;
        }
        self.sessions.put(&Windowed::new(record.key.clone(), window), &count)?;
        let value = format!("{}..{}={count}", window.start, window.end);
        ctx.forward(Record::new(record.key, value, t))
    }
}

topology! {
    struct Windows {
        source input { topic: "in", key: String, value: String }
        processor counter: WindowCounter { parents: [input] }
        processor sessionizer: Sessionizer { parents: [input] }
        store window_counts { name: "window-counts", kind: window, key: String, value: i64, retention: 1min, window_size: 10ms }
        store sessions { name: "sessions", kind: session, key: String, value: i64, retention: 1min }
        sink counted { topic: "counted", parents: [counter] }
        sink sessionized { topic: "sessionized", parents: [sessionizer] }
    }
}

fn pipe(driver: &TopologyTestDriver<impl Graph>, records: &[(&str, i64)]) {
    let mut input = driver.input_topic(Windows::source_input());
    for &(key, ts) in records {
        input.pipe_input_at(key.to_owned(), "v".to_owned(), ts).unwrap();
    }
}

#[test]
fn a_processor_counts_in_its_window_store_and_reads_back_a_time_range() {
    let driver = test_driver(&Windows).unwrap();
    pipe(
        &driver,
        &[("a", 1), ("a", 5), ("a", 12), ("b", 13), ("a", 31), ("a", 8)],
    );
    let values: Vec<(String, String)> = driver
        .output_topic_as::<String, String>("counted")
        .read_key_values_to_list()
        .unwrap();
    assert_eq!(
        values,
        [
            ("a".to_owned(), "0:1".to_owned()),
            ("a".to_owned(), "0:2".to_owned()),
            ("a".to_owned(), "0:2 10:1".to_owned()),
            ("b".to_owned(), "10:1".to_owned()),
            ("a".to_owned(), "10:1 30:1".to_owned()),
            ("a".to_owned(), "0:3".to_owned()),
        ]
    );
    let store = driver.store(Windows::store_window_counts());
    assert_eq!(store.get(&"a".to_owned(), 0).unwrap(), Some(3));
    let all: Vec<(String, Window, i64)> = store
        .all()
        .unwrap()
        .map(|e| e.map(|(k, v)| (k.key, k.window, v)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        all,
        [
            ("a".to_owned(), Window::new(0, 10), 3),
            ("a".to_owned(), Window::new(10, 20), 1),
            ("a".to_owned(), Window::new(30, 40), 1),
            ("b".to_owned(), Window::new(10, 20), 1),
        ]
    );
    // Java's changelog layout: key bytes, 8-byte start, 4-byte sequence number (0).
    let mut changelog =
        driver.output_topic_named::<Vec<u8>, i64, BytesSerde, LongSerde>("test-app-window-counts-changelog");
    let first = changelog.read_key_value().unwrap();
    assert_eq!(
        first,
        ([b"a".as_slice(), &0i64.to_be_bytes(), &0u32.to_be_bytes()].concat(), 1)
    );
    assert_eq!(changelog.read_key_values_to_list().unwrap().len(), 5);
}

#[test]
fn windows_past_the_retention_period_are_gone() {
    let driver = test_driver(&Windows).unwrap();
    pipe(&driver, &[("a", 5), ("a", 70_000)]);
    let store = driver.window_store::<String, i64>("window-counts").unwrap();
    assert_eq!(store.get(&"a".to_owned(), 0).unwrap(), None);
    assert_eq!(store.get(&"a".to_owned(), 70_000).unwrap(), Some(1));
}

#[test]
fn a_processor_merges_sessions_in_its_session_store() {
    let driver = test_driver(&Windows).unwrap();
    pipe(
        &driver,
        &[("a", 0), ("a", 20), ("a", 3), ("a", 12), ("a", 16), ("b", 1)],
    );
    let values: Vec<String> = driver
        .output_topic_as::<String, String>("sessionized")
        .read_values_to_list()
        .unwrap();
    assert_eq!(
        values,
        ["0..0=1", "20..20=1", "0..3=2", "12..12=1", "12..20=3", "1..1=1"]
    );
    let store = driver.store(Windows::store_sessions());
    let sessions: Vec<(Window, i64)> = store
        .fetch(&"a".to_owned())
        .unwrap()
        .map(|e| e.map(|(k, v)| (k.window, v)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sessions, [(Window::new(0, 3), 2), (Window::new(12, 20), 3)]);
    assert_eq!(store.fetch_session(&"a".to_owned(), 12, 20).unwrap(), Some(3));
}
