//! The word count's HTTP interface: interactive queries across the instances of the application
//! (the reference's `WordCountInteractiveQueriesExample`), with axum on tokio.
//!
//! Every instance runs one, at the endpoint its `application.server` names:
//! - `GET /counts/{word}`: the word's count, `{"word": .., "count": .., "host": ..}` (404 if
//!   the word was never counted). The instance finds the word's partition and its holder with
//!   [`KafkaStreams::query_metadata_for_key`], answers from its own store if it holds it, and
//!   otherwise forwards the request to the holder.
//! - `GET /counts`: every word's count, gathered from every instance's local store.
//! - `GET /local/counts`: this instance's words only (what `/counts` gathers).
//! - `GET /metrics`: the process's metrics in Prometheus' text format (see
//!   [`crate::prometheus`]).
//!
//! A store that cannot be queried now (a rebalance, a restoration) answers 503: retry.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;
use std::sync::Arc;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::metadata::HostInfo;
use streams_runtime::prelude::*;

/// The store the word count counts into.
pub const STORE: &str = "counts-store";

/// One word's count, as `GET /counts/{word}` answers it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WordCountReply {
    /// The word.
    pub word: String,
    /// Its count.
    pub count: i64,
    /// The instance whose store answered.
    pub host: String,
}

/// What the handlers share: the running application, this instance's endpoint and a client for
/// the other instances.
struct Server<T> {
    streams: Arc<KafkaStreams<T>>,
    me: HostInfo,
    http: reqwest::Client,
}

/// The routes of an instance at `me` (its `application.server`) of the word count `streams`.
pub fn router<T: Topology + Clone + Send + Sync + 'static>(streams: Arc<KafkaStreams<T>>, me: HostInfo) -> Router {
    if let Err(error) = crate::prometheus::recorder() {
        tracing::warn!(%error, "no Prometheus metrics at /metrics");
    }
    let server = Arc::new(Server {
        streams,
        me,
        http: reqwest::Client::new(),
    });
    Router::new()
        .route("/counts/{word}", get(count_of::<T>))
        .route("/counts", get(all_counts::<T>))
        .route("/local/counts", get(local_counts::<T>))
        .route("/metrics", get(prometheus_text))
        .with_state(server)
}

/// An error as a response: 503 when the store cannot be queried now, else 500.
fn failure(error: impl std::fmt::Display, unavailable: bool) -> Response {
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    (status, error.to_string()).into_response()
}

fn streams_failure(error: StreamsError) -> Response {
    let unavailable = matches!(error, StreamsError::StoreNotQueryable { .. });
    failure(error, unavailable)
}

/// Runs a blocking store query off the async executor's threads.
async fn blocking<R: Send + 'static>(query: impl FnOnce() -> R + Send + 'static) -> Result<R, Response> {
    tokio::task::spawn_blocking(query).await.map_err(|e| failure(e, false))
}

/// The query string of a request one instance forwards to another.
#[derive(serde::Deserialize)]
struct Forwarded {
    /// Set on a forwarded request: it is answered here or not at all (two instances whose
    /// metadata disagree during a rebalance would otherwise pass it back and forth).
    #[serde(default)]
    forwarded: bool,
}

async fn count_of<T: Topology + Clone + Send + Sync + 'static>(
    State(server): State<Arc<Server<T>>>,
    Path(word): Path<String>,
    Query(hop): Query<Forwarded>,
) -> Response {
    let holder = match server.streams.query_metadata_for_key(STORE, &word, &StringSerde) {
        Ok(Some(metadata)) => metadata.active_host,
        Ok(None) => return failure(format!("no instance holds {word:?} now"), true),
        Err(e) => return streams_failure(e),
    };
    if holder != server.me {
        if hop.forwarded {
            return failure(format!("{word:?} is not held here; the metadata is changing"), true);
        }
        let mut url = match reqwest::Url::parse(&format!("http://{holder}/counts/")) {
            Ok(url) => url,
            Err(e) => return failure(format!("the holder's endpoint {holder}: {e}"), false),
        };
        // The word as one path segment, percent-encoded.
        url.path_segments_mut()
            .map(|mut path| {
                path.pop_if_empty().push(&word);
            })
            .ok();
        url.set_query(Some("forwarded=true"));
        return forward(&server.http, url.as_str()).await;
    }
    let streams = Arc::clone(&server.streams);
    let key = word.clone();
    let count = blocking(move || streams.key_value_store::<String, i64>(STORE)?.get(&key)).await;
    match count {
        Ok(Ok(Some(count))) => Json(WordCountReply {
            word,
            count,
            host: server.me.to_string(),
        })
        .into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, format!("{word:?} was never counted")).into_response(),
        Ok(Err(e)) => streams_failure(e),
        Err(response) => response,
    }
}

/// Passes another instance's answer through.
async fn forward(http: &reqwest::Client, url: &str) -> Response {
    match http.get(url).send().await {
        Ok(reply) => {
            let status = StatusCode::from_u16(reply.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let content_type = reply.headers().get(reqwest::header::CONTENT_TYPE).cloned();
            let body = match reply.bytes().await {
                Ok(body) => body,
                Err(e) => return failure(format!("reading the answer of {url}: {e}"), true),
            };
            let mut response = (status, body).into_response();
            if let Some(content_type) = content_type.and_then(|c| c.to_str().ok().map(str::to_owned))
                && let Ok(value) = content_type.parse()
            {
                response.headers_mut().insert(axum::http::header::CONTENT_TYPE, value);
            }
            response
        }
        Err(e) => failure(format!("asking {url}: {e}"), true),
    }
}

/// This instance's counts.
async fn local<T: Topology + Clone + Send + Sync + 'static>(
    server: &Server<T>,
) -> Result<BTreeMap<String, i64>, Response> {
    let streams = Arc::clone(&server.streams);
    let entries = blocking(move || {
        streams
            .key_value_store::<String, i64>(STORE)?
            .all()?
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map_err(StreamsError::from)
    })
    .await?;
    entries.map_err(streams_failure)
}

async fn local_counts<T: Topology + Clone + Send + Sync + 'static>(State(server): State<Arc<Server<T>>>) -> Response {
    match local(&server).await {
        Ok(counts) => Json(counts).into_response(),
        Err(response) => response,
    }
}

async fn all_counts<T: Topology + Clone + Send + Sync + 'static>(State(server): State<Arc<Server<T>>>) -> Response {
    let mut all = BTreeMap::new();
    for instance in server.streams.all_metadata_for_store(STORE) {
        let counts = if instance.host_info == server.me {
            local(&server).await
        } else {
            let url = format!("http://{}/local/counts", instance.host_info);
            match server.http.get(&url).send().await {
                Ok(reply) if reply.status().is_success() => reply
                    .json::<BTreeMap<String, i64>>()
                    .await
                    .map_err(|e| failure(format!("reading {url}: {e}"), false)),
                Ok(reply) => Err(failure(format!("{url} answered {}", reply.status()), true)),
                Err(e) => Err(failure(format!("asking {url}: {e}"), true)),
            }
        };
        match counts {
            Ok(counts) => all.extend(counts),
            Err(response) => return response,
        }
    }
    Json(all).into_response()
}

/// `GET /metrics`: Prometheus text, or 500 if no Prometheus recorder could be installed.
async fn prometheus_text() -> Response {
    match crate::prometheus::render() {
        Ok(text) => text.into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error).into_response(),
    }
}

/// An HTTP server running on a tokio runtime of its own; dropping it stops the server.
pub struct Serving {
    _runtime: tokio::runtime::Runtime,
}

/// Serves the word count `streams` at `me` (its `application.server`) on `listener`, bound
/// before the application starts (so that an ephemeral port can be announced).
pub fn serve<T: Topology + Clone + Send + Sync + 'static>(
    streams: Arc<KafkaStreams<T>>,
    me: HostInfo,
    listener: std::net::TcpListener,
) -> std::io::Result<Serving> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("word-count-http")
        .enable_all()
        .build()?;
    listener.set_nonblocking(true)?;
    let app = router(streams, me);
    runtime.spawn(async move {
        let served = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => axum::serve(listener, app).await,
            Err(e) => Err(e),
        };
        if let Err(error) = served {
            tracing::error!(%error, "the HTTP server stopped");
        }
    });
    Ok(Serving { _runtime: runtime })
}
