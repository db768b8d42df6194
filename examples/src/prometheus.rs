//! The application's metrics as Prometheus text: installs `metrics-exporter-prometheus` as the
//! process's recorder of the `metrics` crate's facade, which the stream threads publish to
//! once a second (`kafka_streams_<group>_<name>{thread_id=..,task_id=..}`, see
//! `streams_runtime::metrics`). The word count's HTTP interface serves it at `GET /metrics`.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a series nobody updates stays in the text: the stream threads publish every second,
/// so a series of a task, partition or thread that went away disappears after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's Prometheus recorder, installed on the first call; an error if another
/// recorder of the facade was installed before.
pub fn recorder() -> Result<&'static PrometheusHandle, &'static str> {
    let installed = RECORDER.get_or_init(|| {
        PrometheusBuilder::new()
            .idle_timeout(MetricKindMask::ALL, Some(IDLE_TIMEOUT))
            .install_recorder()
            .map_err(|e| e.to_string())
    });
    installed.as_ref().map_err(String::as_str)
}

/// The metrics now, in Prometheus' text format.
pub fn render() -> Result<String, &'static str> {
    recorder().map(PrometheusHandle::render)
}
