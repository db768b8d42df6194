//! Example applications of Kafka Streams for Rust, each a topology with a driver test in
//! `tests/`.

pub mod pipe;
pub mod word_count_processor;
