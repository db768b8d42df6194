//! Processor API window and session stores: `store` clauses of `kind: window` and
//! `kind: session`, bound to `WindowStore` and `SessionStore` fields, read through typed
//! accessors.

use std::time::Duration;
use streams_runtime::prelude::*;

/// Counts records per key in 10 ms windows and per key in one-record sessions.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Windowing {
    #[store("recent")]
    recent: WindowStore<String, i64>,
    #[store]
    visits: SessionStore<String, i64>,
}

impl Processor for Windowing {
    fn process(&mut self, r: Record<String, String>, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        let start = r.timestamp - r.timestamp % 10;
        let n = self.recent.get(&r.key, start)?.unwrap_or(0) + 1;
        self.recent.put(&r.key, &n, start)?;
        self.visits.put(&Windowed::new(r.key.clone(), Window::new(r.timestamp, r.timestamp)), &1)?;
        ctx.forward(r.with_value(n))
    }
}

topology! {
    struct ProcessorWindows {
        source input { topic: "in", key: String, value: String }
        processor windowing: Windowing { parents: [input] }
        sink out { topic: "out", parents: [windowing] }
        store recent {
            kind: window,
            key: String,
            value: i64,
            retention: 1min,
            window_size: 10ms,
            retain_duplicates: false,
            persistent: false,
        }
        store visits { kind: session, key: String, value: i64, retention: Duration::from_secs(60), persistent: false }
    }
}

fn main() {
    let stores = <ProcessorWindows as Topology>::STORES;
    assert_eq!(
        (stores[0].kind, stores[0].retention_ms, stores[0].window_size_ms, stores[0].retain_duplicates),
        (StoreKind::Window, 60_000, 10, false)
    );
    assert_eq!((stores[1].kind, stores[1].retention_ms), (StoreKind::Session, 60_000));
    assert!(!stores[0].timestamped && !stores[1].timestamped);

    let driver = test_driver(&ProcessorWindows).unwrap();
    let mut input = driver.input_topic(ProcessorWindows::source_input());
    input.pipe_input_at("a".into(), "x".into(), 1).unwrap();
    input.pipe_input_at("a".into(), "y".into(), 5).unwrap();
    input.pipe_input_at("a".into(), "z".into(), 12).unwrap();
    let out: Vec<i64> = driver.output_topic(ProcessorWindows::sink_out()).read_values_to_list().unwrap();
    assert_eq!(out, [1, 2, 1]);
    let recent: WindowStore<String, i64> = driver.store(ProcessorWindows::store_recent());
    assert_eq!(recent.get(&"a".to_owned(), 0).unwrap(), Some(2));
    let visits: SessionStore<String, i64> = driver.store(ProcessorWindows::store_visits());
    assert_eq!(visits.fetch_session(&"a".to_owned(), 5, 5).unwrap(), Some(1));
    driver.close().unwrap();
}
