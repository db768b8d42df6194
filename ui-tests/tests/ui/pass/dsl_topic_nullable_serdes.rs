//! A DSL `to` may write a topic a `stream` clause reads with the nullable form of its serdes
//! (`String` written with `StringSerde`, read as `Option<String>` with `OptionSerde<StringSerde>`):
//! the bytes are the same, so check 8 accepts it.

use streams_runtime::prelude::*;

topology! {
    struct Relay {
        stream words { topic: "words", key: String, value: String }
        stream relayed { topic: "relayed", key: Option<String>, value: Option<String> }
        words.to("relayed");
        relayed.filter(|_, v| v.is_some()).to("out");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let driver = test_driver(&Relay)?;
    driver.input_topic(Relay::source_words()).pipe_input("k".to_owned(), "v".to_owned())?;
    let mut out = driver.output_topic_as::<Option<String>, Option<String>>("out");
    assert_eq!(out.read_key_value()?, (Some("k".to_owned()), Some("v".to_owned())));
    Ok(())
}
