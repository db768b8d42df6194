//! Topologies wider than one tuple of eight (issue #16): a node with 20 children and a topology
//! with 12 sources, declared with the Processor API and with the DSL, through the test driver.
//! The graph nests more than eight children, sources or `split` predicates in `Chunks` of eight;
//! these tests pin that every child and every source is reached, by index, by name and in
//! declaration order.

use streams_runtime::prelude::*;

/// How many children the routers and streams below have.
const CHILDREN: usize = 20;

/// The name of the router's child `i`: sinks at even positions, processors at odd ones.
fn child_name(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("s{i:02}")
    } else {
        format!("p{i:02}")
    }
}

/// Sends a record to the child at position `value % 20`, found by name in `init`; a negative
/// value goes to every child.
#[derive(Processor)]
#[processor(input = (String, i64), output = (String, i64))]
struct Router {
    children: Vec<ChildId>,
}

impl Processor for Router {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        self.children = (0..CHILDREN)
            .map(|i| {
                let name = child_name(i);
                ctx.child(&name)
                    .ok_or_else(|| ProcessingError::msg(format!("no child {name}")))
            })
            .collect::<Result<_, _>>()?;
        if ctx.child("o01").is_some() {
            return Err(ProcessingError::msg("a grandchild is not a child"));
        }
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        match usize::try_from(record.value) {
            Ok(v) => ctx.forward_to(self.children[v % CHILDREN], record),
            Err(_) => ctx.forward(record),
        }
    }
}

/// Doubles the value.
#[derive(Processor)]
#[processor(input = (String, i64), output = (String, i64))]
struct Doubler {}

impl Processor for Doubler {
    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        let doubled = record.value * 2;
        ctx.forward(record.with_value(doubled))
    }
}

topology! {
    /// A router with 20 children, sinks and processors alternating; each processor has a sink.
    struct TwentyChildren {
        source numbers { topic: "numbers", key: String, value: i64 }
        processor router: Router { parents: [numbers] }
        sink s00 { topic: "out-00", parents: [router] }
        processor p01: Doubler { parents: [router] }
        sink s02 { topic: "out-02", parents: [router] }
        processor p03: Doubler { parents: [router] }
        sink s04 { topic: "out-04", parents: [router] }
        processor p05: Doubler { parents: [router] }
        sink s06 { topic: "out-06", parents: [router] }
        processor p07: Doubler { parents: [router] }
        sink s08 { topic: "out-08", parents: [router] }
        processor p09: Doubler { parents: [router] }
        sink s10 { topic: "out-10", parents: [router] }
        processor p11: Doubler { parents: [router] }
        sink s12 { topic: "out-12", parents: [router] }
        processor p13: Doubler { parents: [router] }
        sink s14 { topic: "out-14", parents: [router] }
        processor p15: Doubler { parents: [router] }
        sink s16 { topic: "out-16", parents: [router] }
        processor p17: Doubler { parents: [router] }
        sink s18 { topic: "out-18", parents: [router] }
        processor p19: Doubler { parents: [router] }
        sink o01 { topic: "out-01", parents: [p01] }
        sink o03 { topic: "out-03", parents: [p03] }
        sink o05 { topic: "out-05", parents: [p05] }
        sink o07 { topic: "out-07", parents: [p07] }
        sink o09 { topic: "out-09", parents: [p09] }
        sink o11 { topic: "out-11", parents: [p11] }
        sink o13 { topic: "out-13", parents: [p13] }
        sink o15 { topic: "out-15", parents: [p15] }
        sink o17 { topic: "out-17", parents: [p17] }
        sink o19 { topic: "out-19", parents: [p19] }
    }
}

fn kv<V>(k: &str, v: V) -> (String, V) {
    (k.to_owned(), v)
}

#[test]
fn twenty_children_each_get_the_records_sent_to_them_by_name_and_all_get_a_forward() {
    let driver = test_driver(&TwentyChildren).unwrap();
    let mut input = driver.input_topic(TwentyChildren::source_numbers());
    for v in 0..40 {
        input.pipe_input_at(format!("k{v}"), v, 100 + v).unwrap();
    }
    input.pipe_input_at("all".to_owned(), -1, 200).unwrap();
    for i in 0..CHILDREN {
        let factor = if i % 2 == 0 { 1 } else { 2 };
        let v = i as i64;
        let expected = [
            Record::new(format!("k{v}"), v * factor, 100 + v),
            Record::new(format!("k{}", v + 20), (v + 20) * factor, 120 + v),
            Record::new("all".to_owned(), -factor, 200),
        ];
        let mut output = driver.output_topic_as::<String, i64>(&format!("out-{i:02}"));
        assert_eq!(
            output.read_records_to_list().unwrap(),
            expected,
            "child {}",
            child_name(i)
        );
    }
}

topology! {
    /// Twelve sources, each copied to its own topic and all merged into one sink.
    struct TwelveSources {
        source i00 { topic: "in-00", key: String, value: String }
        source i01 { topic: "in-01", key: String, value: String }
        source i02 { topic: "in-02", key: String, value: String }
        source i03 { topic: "in-03", key: String, value: String }
        source i04 { topic: "in-04", key: String, value: String }
        source i05 { topic: "in-05", key: String, value: String }
        source i06 { topic: "in-06", key: String, value: String }
        source i07 { topic: "in-07", key: String, value: String }
        source i08 { topic: "in-08", key: String, value: String }
        source i09 { topic: "in-09", key: String, value: String }
        source i10 { topic: "in-10", key: String, value: String }
        source i11 { topic: "in-11", key: String, value: String }
        sink c00 { topic: "copy-00", parents: [i00] }
        sink c01 { topic: "copy-01", parents: [i01] }
        sink c02 { topic: "copy-02", parents: [i02] }
        sink c03 { topic: "copy-03", parents: [i03] }
        sink c04 { topic: "copy-04", parents: [i04] }
        sink c05 { topic: "copy-05", parents: [i05] }
        sink c06 { topic: "copy-06", parents: [i06] }
        sink c07 { topic: "copy-07", parents: [i07] }
        sink c08 { topic: "copy-08", parents: [i08] }
        sink c09 { topic: "copy-09", parents: [i09] }
        sink c10 { topic: "copy-10", parents: [i10] }
        sink c11 { topic: "copy-11", parents: [i11] }
        sink all { topic: "all", parents: [i00, i01, i02, i03, i04, i05, i06, i07, i08, i09, i10, i11] }
    }
}

/// The sources in the order the tests feed them: every one, interleaved (5 is prime to 12).
fn feeding_order() -> impl Iterator<Item = (usize, usize)> {
    (0..2).flat_map(|round| (0..12).map(move |j| (j * 5 % 12, round)))
}

#[test]
fn twelve_sources_each_deliver_their_records_in_order() {
    let driver = test_driver(&TwelveSources).unwrap();
    let sources = [
        TwelveSources::source_i00(),
        TwelveSources::source_i01(),
        TwelveSources::source_i02(),
        TwelveSources::source_i03(),
        TwelveSources::source_i04(),
        TwelveSources::source_i05(),
        TwelveSources::source_i06(),
        TwelveSources::source_i07(),
        TwelveSources::source_i08(),
        TwelveSources::source_i09(),
        TwelveSources::source_i10(),
        TwelveSources::source_i11(),
    ];
    for (index, source) in sources.iter().enumerate() {
        assert_eq!(source.index(), index);
    }
    let mut inputs = sources.map(|source| driver.input_topic(source));
    for (n, (source, round)) in feeding_order().enumerate() {
        inputs[source]
            .pipe_input_at(format!("k{source}"), format!("{source}.{round}"), n as i64)
            .unwrap();
    }
    // Each source's copy holds its own records, in order.
    for source in 0..12 {
        let mut copy = driver.output_topic_as::<String, String>(&format!("copy-{source:02}"));
        let key = format!("k{source}");
        assert_eq!(
            copy.read_key_values_to_list().unwrap(),
            [kv(&key, format!("{source}.0")), kv(&key, format!("{source}.1"))]
        );
    }
    // The merged sink holds everything in the order it was fed.
    let mut all = driver.output_topic_as::<String, String>("all");
    let values = all.read_values_to_list().unwrap();
    assert_eq!(
        values,
        [
            "0.0", "5.0", "10.0", "3.0", "8.0", "1.0", "6.0", "11.0", "4.0", "9.0", "2.0", "7.0", //
            "0.1", "5.1", "10.1", "3.1", "8.1", "1.1", "6.1", "11.1", "4.1", "9.1", "2.1", "7.1",
        ]
    );
}

topology! {
    /// The DSL's wide shapes: 20 filters and a 20-branch split off one stream, twelve streams
    /// and two tables.
    struct WideDsl {
        stream n00 { topic: "dsl-in-00", key: String, value: i64 }
        stream n01 { topic: "dsl-in-01", key: String, value: i64 }
        stream n02 { topic: "dsl-in-02", key: String, value: i64 }
        stream n03 { topic: "dsl-in-03", key: String, value: i64 }
        stream n04 { topic: "dsl-in-04", key: String, value: i64 }
        stream n05 { topic: "dsl-in-05", key: String, value: i64 }
        stream n06 { topic: "dsl-in-06", key: String, value: i64 }
        stream n07 { topic: "dsl-in-07", key: String, value: i64 }
        stream n08 { topic: "dsl-in-08", key: String, value: i64 }
        stream n09 { topic: "dsl-in-09", key: String, value: i64 }
        stream n10 { topic: "dsl-in-10", key: String, value: i64 }
        stream n11 { topic: "dsl-in-11", key: String, value: i64 }
        table t0 { topic: "dsl-table-0", key: String, value: i64, store: "dsl-table-0-store" }
        table t1 { topic: "dsl-table-1", key: String, value: i64, store: "dsl-table-1-store" }
        n00.filter(|_, v| v % 4 == 0).map_values(|v| format!("f00:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 1).map_values(|v| format!("f01:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 2).map_values(|v| format!("f02:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 3).map_values(|v| format!("f03:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 0).map_values(|v| format!("f04:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 1).map_values(|v| format!("f05:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 2).map_values(|v| format!("f06:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 3).map_values(|v| format!("f07:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 0).map_values(|v| format!("f08:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 1).map_values(|v| format!("f09:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 2).map_values(|v| format!("f10:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 3).map_values(|v| format!("f11:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 0).map_values(|v| format!("f12:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 1).map_values(|v| format!("f13:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 2).map_values(|v| format!("f14:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 3).map_values(|v| format!("f15:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 0).map_values(|v| format!("f16:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 1).map_values(|v| format!("f17:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 2).map_values(|v| format!("f18:{v}")).to("dsl-filtered");
        n00.filter(|_, v| v % 4 == 3).map_values(|v| format!("f19:{v}")).to("dsl-filtered");
        n00.split(b00: |_, v| v % 20 == 0, b01: |_, v| v % 20 == 1, b02: |_, v| v % 20 == 2, b03: |_, v| v % 20 == 3, b04: |_, v| v % 20 == 4, b05: |_, v| v % 20 == 5, b06: |_, v| v % 20 == 6, b07: |_, v| v % 20 == 7, b08: |_, v| v % 20 == 8, b09: |_, v| v % 20 == 9, b10: |_, v| v % 20 == 10, b11: |_, v| v % 20 == 11, b12: |_, v| v % 20 == 12, b13: |_, v| v % 20 == 13, b14: |_, v| v % 20 == 14, b15: |_, v| v % 20 == 15, b16: |_, v| v % 20 == 16, b17: |_, v| v % 20 == 17, b18: |_, v| v % 20 == 18, default: b19);
        b00.map_values(|v| format!("b00:{v}")).to("dsl-split");
        b01.map_values(|v| format!("b01:{v}")).to("dsl-split");
        b02.map_values(|v| format!("b02:{v}")).to("dsl-split");
        b03.map_values(|v| format!("b03:{v}")).to("dsl-split");
        b04.map_values(|v| format!("b04:{v}")).to("dsl-split");
        b05.map_values(|v| format!("b05:{v}")).to("dsl-split");
        b06.map_values(|v| format!("b06:{v}")).to("dsl-split");
        b07.map_values(|v| format!("b07:{v}")).to("dsl-split");
        b08.map_values(|v| format!("b08:{v}")).to("dsl-split");
        b09.map_values(|v| format!("b09:{v}")).to("dsl-split");
        b10.map_values(|v| format!("b10:{v}")).to("dsl-split");
        b11.map_values(|v| format!("b11:{v}")).to("dsl-split");
        b12.map_values(|v| format!("b12:{v}")).to("dsl-split");
        b13.map_values(|v| format!("b13:{v}")).to("dsl-split");
        b14.map_values(|v| format!("b14:{v}")).to("dsl-split");
        b15.map_values(|v| format!("b15:{v}")).to("dsl-split");
        b16.map_values(|v| format!("b16:{v}")).to("dsl-split");
        b17.map_values(|v| format!("b17:{v}")).to("dsl-split");
        b18.map_values(|v| format!("b18:{v}")).to("dsl-split");
        b19.map_values(|v| format!("b19:{v}")).to("dsl-split");
        n00.map_values(|v| format!("n00:{v}")).to("dsl-sources");
        n01.map_values(|v| format!("n01:{v}")).to("dsl-sources");
        n02.map_values(|v| format!("n02:{v}")).to("dsl-sources");
        n03.map_values(|v| format!("n03:{v}")).to("dsl-sources");
        n04.map_values(|v| format!("n04:{v}")).to("dsl-sources");
        n05.map_values(|v| format!("n05:{v}")).to("dsl-sources");
        n06.map_values(|v| format!("n06:{v}")).to("dsl-sources");
        n07.map_values(|v| format!("n07:{v}")).to("dsl-sources");
        n08.map_values(|v| format!("n08:{v}")).to("dsl-sources");
        n09.map_values(|v| format!("n09:{v}")).to("dsl-sources");
        n10.map_values(|v| format!("n10:{v}")).to("dsl-sources");
        n11.map_values(|v| format!("n11:{v}")).to("dsl-sources");
        t0.map_values(|v| format!("t0:{v}")).to_stream().to("dsl-tables");
        t1.map_values(|v| format!("t1:{v}")).to_stream().to("dsl-tables");
    }
}

#[test]
fn twenty_dsl_children_and_twenty_split_branches_each_get_their_records() {
    let driver = test_driver(&WideDsl).unwrap();
    let mut input = driver.input_topic(WideDsl::source_n00());
    for v in [0, 5, 19, 27, -1] {
        input.pipe_input_at(format!("k{v}"), v, 10).unwrap();
    }
    // Every filter of a value's residue mod 4 passes it, in declaration order.
    let mut filtered = driver.output_topic_as::<String, String>("dsl-filtered");
    assert_eq!(
        filtered.read_values_to_list().unwrap(),
        [
            "f00:0", "f04:0", "f08:0", "f12:0", "f16:0", //
            "f01:5", "f05:5", "f09:5", "f13:5", "f17:5", //
            "f03:19", "f07:19", "f11:19", "f15:19", "f19:19", //
            "f03:27", "f07:27", "f11:27", "f15:27",
            "f19:27", //
                      // -1 % 4 == -1: no filter passes it.
        ]
    );
    // Each value goes to the branch of its residue mod 20; 19 and what matches no predicate go
    // to the default branch.
    let mut split = driver.output_topic_as::<String, String>("dsl-split");
    assert_eq!(
        split.read_key_values_to_list().unwrap(),
        [
            kv("k0", "b00:0".to_owned()),
            kv("k5", "b05:5".to_owned()),
            kv("k19", "b19:19".to_owned()),
            kv("k27", "b07:27".to_owned()),
            kv("k-1", "b19:-1".to_owned()),
        ]
    );
}

#[test]
fn twelve_dsl_streams_and_two_tables_each_deliver_their_records_in_order() {
    let driver = test_driver(&WideDsl).unwrap();
    let streams = [
        WideDsl::source_n00(),
        WideDsl::source_n01(),
        WideDsl::source_n02(),
        WideDsl::source_n03(),
        WideDsl::source_n04(),
        WideDsl::source_n05(),
        WideDsl::source_n06(),
        WideDsl::source_n07(),
        WideDsl::source_n08(),
        WideDsl::source_n09(),
        WideDsl::source_n10(),
        WideDsl::source_n11(),
    ];
    let mut inputs = streams.map(|source| driver.input_topic(source));
    for (n, (source, round)) in feeding_order().enumerate() {
        inputs[source]
            .pipe_input_at(format!("k{source}"), (100 * round + source) as i64, n as i64)
            .unwrap();
    }
    let mut t0 = driver.input_topic(WideDsl::source_t0());
    let mut t1 = driver.input_topic(WideDsl::source_t1());
    t0.pipe_input_at(Some("a".to_owned()), Some(1), 30).unwrap();
    t1.pipe_input_at(Some("a".to_owned()), Some(2), 31).unwrap();
    t0.pipe_input_at(Some("a".to_owned()), None, 32).unwrap();
    let mut sources = driver.output_topic_as::<String, String>("dsl-sources");
    assert_eq!(
        sources.read_values_to_list().unwrap(),
        [
            "n00:0", "n05:5", "n10:10", "n03:3", "n08:8", "n01:1", "n06:6", "n11:11", "n04:4", "n09:9", "n02:2",
            "n07:7", //
            "n00:100", "n05:105", "n10:110", "n03:103", "n08:108", "n01:101", "n06:106", "n11:111", "n04:104",
            "n09:109", "n02:102", "n07:107",
        ]
    );
    let mut tables = driver.output_topic_as::<String, Option<String>>("dsl-tables");
    assert_eq!(
        tables.read_records_to_list().unwrap(),
        [
            Record::new("a".to_owned(), Some("t0:1".to_owned()), 30),
            Record::new("a".to_owned(), Some("t1:2".to_owned()), 31),
            Record::new("a".to_owned(), None, 32),
        ]
    );
}

#[test]
fn twelve_sources_are_described_in_one_sub_topology_as_java_does() {
    // What Java 4.1.1 prints for the same Processor API topology, line for line.
    let mut expected = String::from("Topologies:\n   Sub-topology: 0\n");
    for s in 0..12 {
        expected += &format!("    Source: i{s:02} (topics: [in-{s:02}])\n      --> all, c{s:02}\n");
    }
    let all: Vec<String> = (0..12).map(|s| format!("i{s:02}")).collect();
    expected += &format!("    Sink: all (topic: all)\n      <-- {}\n", all.join(", "));
    for s in 0..12 {
        expected += &format!("    Sink: c{s:02} (topic: copy-{s:02})\n      <-- i{s:02}\n");
    }
    assert_eq!(TwelveSources.describe().text().trim_end(), expected.trim_end());
}
