use std::time::Instant;
use streams_runtime::prelude::*;

topology! {
    struct Cached {
        stream lines { topic: "lines", key: Option<String>, value: String }
        lines
            .flat_map_values(|line| line.to_lowercase().split(' ').map(str::to_owned).collect::<Vec<_>>())
            .group_by(|_, word| word.clone())
            .count(store: "counts", persistent: false, logging: false)
            .to_stream()
            .to("counts-out", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
    }
}

topology! {
    struct Uncached {
        stream lines { topic: "lines", key: Option<String>, value: String }
        lines
            .flat_map_values(|line| line.to_lowercase().split(' ').map(str::to_owned).collect::<Vec<_>>())
            .group_by(|_, word| word.clone())
            .count(store: "counts", persistent: false, logging: false, caching: false)
            .to_stream()
            .to("counts-out", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
    }
}

fn lines() -> Vec<Vec<u8>> {
    (0..100_000)
        .map(|l| (0..10).map(|w| format!("word{}", (l * 7 + w * 13) % 10_000)).collect::<Vec<_>>().join(" ").into_bytes())
        .collect()
}

#[test]
fn perf() {
    let input = lines();
    if let Ok(which) = std::env::var("ONLY") {
        let t = Instant::now();
        let n = if which == "cached" {
            let driver = test_driver(&Cached).unwrap();
            let mut i = driver.input_topic(Cached::source_lines());
            for (n, l) in input.iter().enumerate() { i.pipe_raw(None, Some(l), n as i64).unwrap(); }
            driver.output_topic_as::<String, Option<i64>>("counts-out").queue_size()
        } else {
            let driver = test_driver(&Uncached).unwrap();
            let mut i = driver.input_topic(Uncached::source_lines());
            for (n, l) in input.iter().enumerate() { i.pipe_raw(None, Some(l), n as i64).unwrap(); }
            driver.output_topic_as::<String, Option<i64>>("counts-out").queue_size()
        };
        println!("{which}: {:?} {n}", t.elapsed());
        return;
    }
    for round in 0..4 {
        let t = Instant::now();
        let driver = test_driver(&Cached).unwrap();
        let mut i = driver.input_topic(Cached::source_lines());
        for (n, l) in input.iter().enumerate() { i.pipe_raw(None, Some(l), n as i64).unwrap(); }
        let c = driver.output_topic_as::<String, Option<i64>>("counts-out").queue_size();
        let cached = t.elapsed();
        let t = Instant::now();
        let driver = test_driver(&Uncached).unwrap();
        let mut i = driver.input_topic(Uncached::source_lines());
        for (n, l) in input.iter().enumerate() { i.pipe_raw(None, Some(l), n as i64).unwrap(); }
        let u = driver.output_topic_as::<String, Option<i64>>("counts-out").queue_size();
        let uncached = t.elapsed();
        println!("round {round}: cached {cached:?} ({c}), uncached {uncached:?} ({u}), ratio {:.2}", cached.as_secs_f64() / uncached.as_secs_f64());
    }
}
