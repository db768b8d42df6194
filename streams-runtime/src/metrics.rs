//! Kafka Streams' metrics under Java's names, groups, tags and recording levels
//! (`KafkaStreams.metrics()`), and their export through the `metrics` crate's
//! facade, so that any exporter (Prometheus, StatsD, ...) installed by the application sees them.
//!
//! A stream thread counts what it does in plain integers while it works and records them into
//! its sensors once per round of its loop (one lock per round, none per record). Rates,
//! averages and maxima are Java's sampled statistics: two samples of 30 seconds, a rate divided
//! by at least one sample's length. [`KafkaStreams::metrics`](crate::kafka::KafkaStreams::metrics)
//! reads a snapshot; each thread also publishes its metrics to the facade once a second as
//! gauges named `kafka_streams_<group>_<name>` (hyphens as underscores, Java's JMX exporter
//! names) with the tags as labels, the `-total` ones as counters.

pub use crate::config::RecordingLevel;
use std::time::{Duration, Instant};

/// A metric's identity as Java names it (`org.apache.kafka.common.MetricName`): its name, its
/// group and its tags, e.g. `process-rate` in `stream-thread-metrics` with `thread-id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricName {
    /// The metric's name, e.g. `process-rate`.
    pub name: &'static str,
    /// Its group, e.g. `stream-thread-metrics`.
    pub group: &'static str,
    /// Its tags in Java's order, e.g. `[("thread-id", "app-…-StreamThread-1")]`.
    pub tags: Vec<(&'static str, String)>,
}

impl MetricName {
    /// The value of tag `key`, if the metric has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }
}

/// One metric's value at the time of a snapshot (Java's `Metric.metricValue()`; a rate is per
/// second, a latency in milliseconds, an average or maximum of nothing is NaN as in Java).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// What the value measures.
    pub name: MetricName,
    /// The value.
    pub value: f64,
}

/// Java's sample length (`metrics.sample.window.ms`).
const SAMPLE_WINDOW: Duration = Duration::from_secs(30);

/// Java's number of samples (`metrics.num.samples`).
const SAMPLES: usize = 2;

/// One sample of a sensor: the events and the sum and maximum of their values since `start`.
#[derive(Debug, Clone, Copy)]
struct Sample {
    start: Instant,
    count: u64,
    sum: f64,
    max: f64,
}

/// What a stream thread measures of one kind of event (Java's `Sensor` with a rate, a total,
/// an average and a maximum): a count of events, each with a value (a latency, a lag).
#[derive(Debug, Clone)]
pub(crate) struct Sensor {
    total: u64,
    samples: [Option<Sample>; SAMPLES],
    current: usize,
}

impl Default for Sensor {
    fn default() -> Self {
        Sensor {
            total: 0,
            samples: [None; SAMPLES],
            current: 0,
        }
    }
}

impl Sensor {
    /// Records `count` events at `now` whose values sum to `sum` with largest `max`.
    pub(crate) fn record(&mut self, now: Instant, count: u64, sum: f64, max: f64) {
        if count == 0 {
            return;
        }
        self.total += count;
        let fresh = Sample {
            start: now,
            count: 0,
            sum: 0.0,
            max: f64::NEG_INFINITY,
        };
        let sample = match &mut self.samples[self.current] {
            Some(s) if now.saturating_duration_since(s.start) < SAMPLE_WINDOW => s,
            _ => {
                self.current = (self.current + 1) % SAMPLES;
                self.samples[self.current].insert(fresh)
            }
        };
        sample.count += count;
        sample.sum += sum;
        sample.max = sample.max.max(max);
    }

    /// Records one event with `value`.
    pub(crate) fn record_one(&mut self, now: Instant, value: f64) {
        self.record(now, 1, value, value);
    }

    /// The samples not yet expired at `now` (Java drops those older than all samples' span).
    fn live(&self, now: Instant) -> impl Iterator<Item = &Sample> {
        let span = SAMPLE_WINDOW * SAMPLES as u32;
        (self.samples.iter().flatten()).filter(move |s| now.saturating_duration_since(s.start) < span)
    }

    /// Events since the sensor was created.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Events per second over the live samples, divided by at least one sample's length
    /// (Java's `Rate` with its minimum window).
    pub(crate) fn rate(&self, now: Instant) -> f64 {
        let Some(oldest) = self.live(now).map(|s| s.start).min() else {
            return 0.0;
        };
        let count: u64 = self.live(now).map(|s| s.count).sum();
        let elapsed = now
            .saturating_duration_since(oldest)
            .max(SAMPLE_WINDOW * (SAMPLES as u32 - 1));
        count as f64 / elapsed.as_secs_f64()
    }

    /// The values' average over the live samples (NaN without any).
    pub(crate) fn avg(&self, now: Instant) -> f64 {
        let (count, sum) = (self.live(now)).fold((0, 0.0), |(c, s), sample| (c + sample.count, s + sample.sum));
        if count == 0 { f64::NAN } else { sum / count as f64 }
    }

    /// The largest value over the live samples (NaN without any).
    pub(crate) fn max(&self, now: Instant) -> f64 {
        (self.live(now).map(|s| s.max)).fold(f64::NAN, f64::max)
    }
}

/// Adds metrics of one group with one set of tags to a snapshot `out`, read at `now`.
pub(crate) struct Snapshot<'a> {
    pub(crate) out: &'a mut Vec<Metric>,
    pub(crate) group: &'static str,
    pub(crate) tags: &'a [(&'static str, String)],
    pub(crate) now: Instant,
}

impl<'a> Snapshot<'a> {
    /// Metrics of `group` with `tags`, added to `out`, read at `now`.
    pub(crate) fn new(
        out: &'a mut Vec<Metric>,
        group: &'static str,
        tags: &'a [(&'static str, String)],
        now: Instant,
    ) -> Self {
        Snapshot { out, group, tags, now }
    }

    /// Adds one metric.
    pub(crate) fn add(&mut self, name: &'static str, value: f64) {
        self.out.push(Metric {
            name: MetricName {
                name,
                group: self.group,
                tags: self.tags.to_vec(),
            },
            value,
        });
    }

    /// Adds the `rate` and `total` names of `sensor`.
    pub(crate) fn rate_total(&mut self, sensor: &Sensor, rate: &'static str, total: &'static str) {
        let now = self.now;
        self.add(rate, sensor.rate(now));
        self.add(total, sensor.total() as f64);
    }

    /// Adds the `avg` and `max` names of `sensor`'s values.
    pub(crate) fn avg_max(&mut self, sensor: &Sensor, avg: &'static str, max: &'static str) {
        let now = self.now;
        self.add(avg, sensor.avg(now));
        self.add(max, sensor.max(now));
    }
}

/// Publishes `metrics` to the `metrics` crate's facade: `-total` metrics as counters,
/// the others as gauges, named `kafka_streams_<group>_<name>` with the tags as labels (hyphens
/// as underscores). NaN values (nothing measured yet) are left out.
pub(crate) fn publish(metrics: &[Metric]) {
    for metric in metrics {
        if metric.value.is_nan() {
            continue;
        }
        let name = exported_name(&metric.name);
        let labels: Vec<::metrics::Label> = (metric.name.tags.iter())
            .map(|(k, v)| ::metrics::Label::new(k.replace('-', "_"), v.clone()))
            .collect();
        if metric.name.name.ends_with("-total") {
            ::metrics::counter!(name, labels).absolute(metric.value as u64);
        } else {
            ::metrics::gauge!(name, labels).set(metric.value);
        }
    }
}

/// The name a metric has in the facade: `kafka_streams_<group>_<name>`, hyphens as
/// underscores, the group's `-metrics` suffix dropped (`stream-thread-metrics` →
/// `stream_thread`), as Java's JMX names map to Prometheus.
pub fn exported_name(name: &MetricName) -> String {
    let group = name.group.strip_suffix("-metrics").unwrap_or(name.group);
    format!("kafka_streams_{}_{}", group, name.name).replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_averages_and_maxima_follow_javas_two_samples_of_thirty_seconds() {
        let start = Instant::now();
        let mut sensor = Sensor::default();
        assert_eq!(sensor.rate(start), 0.0);
        assert!(sensor.avg(start).is_nan() && sensor.max(start).is_nan());
        sensor.record(start, 3, 6.0, 4.0);
        sensor.record_one(start + Duration::from_secs(10), 2.0);
        // Less than one sample's length has passed: the rate divides by 30 s.
        assert_eq!(sensor.rate(start + Duration::from_secs(10)), 4.0 / 30.0);
        assert_eq!(sensor.avg(start + Duration::from_secs(10)), 2.0);
        assert_eq!(sensor.max(start + Duration::from_secs(10)), 4.0);
        // A second sample opens after 30 s; both count until the first is 60 s old.
        sensor.record(start + Duration::from_secs(40), 4, 40.0, 10.0);
        assert_eq!(sensor.rate(start + Duration::from_secs(50)), 8.0 / 50.0);
        assert_eq!(sensor.avg(start + Duration::from_secs(50)), 48.0 / 8.0);
        assert_eq!(sensor.max(start + Duration::from_secs(50)), 10.0);
        // At 60 s the first sample expires.
        assert_eq!(sensor.rate(start + Duration::from_secs(60)), 4.0 / 30.0);
        assert_eq!(sensor.avg(start + Duration::from_secs(60)), 10.0);
        assert_eq!(sensor.total(), 8);
        // After both expire nothing is measured, but the total stays.
        assert_eq!(sensor.rate(start + Duration::from_secs(200)), 0.0);
        assert!(sensor.max(start + Duration::from_secs(200)).is_nan());
        assert_eq!(sensor.total(), 8);
    }

    #[test]
    fn exported_names_are_javas_jmx_names_in_prometheus_spelling() {
        let name = MetricName {
            name: "process-latency-avg",
            group: "stream-thread-metrics",
            tags: vec![("thread-id", "t".to_owned())],
        };
        assert_eq!(exported_name(&name), "kafka_streams_stream_thread_process_latency_avg");
        assert_eq!(name.tag("thread-id"), Some("t"));
    }

    #[test]
    fn recording_levels_parse_javas_spelling() {
        assert_eq!(RecordingLevel::parse("DEBUG"), Some(RecordingLevel::Debug));
        assert_eq!(RecordingLevel::parse("debug"), None);
        assert!(RecordingLevel::Info < RecordingLevel::Debug);
    }
}
