//! Example applications of Kafka Streams for Rust, each a topology with a driver test in
//! `tests/`.

pub mod kafka_demo;
pub mod line_split;
pub mod orders;
pub mod page_views;
pub mod pipe;
pub mod process;
pub mod prometheus;
pub mod word_count;
pub mod word_count_processor;
pub mod word_count_server;
