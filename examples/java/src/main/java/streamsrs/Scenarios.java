package streamsrs;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.SessionWindowedKStream;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.Suppressed.BufferConfig;
import org.apache.kafka.streams.kstream.TimeWindowedKStream;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The oracle's topologies, one per scenario name. Every input topic has String keys and values
 * (either may be null); each scenario lists its output topics with their types. The Rust twins
 * are in examples/tests/java_oracle.rs: a change here needs the same change there.
 */
final class Scenarios {
  /** An output topic the runner reads, with the deserializers of its key and value. */
  record Output(String topic, Deserializer<?> key, Deserializer<?> value) {
    static Output strings(String topic) {
      return new Output(topic, Serdes.String().deserializer(), Serdes.String().deserializer());
    }

    static Output longs(String topic) {
      return new Output(topic, Serdes.String().deserializer(), Serdes.Long().deserializer());
    }

    /** Key and value bytes as they are (printed in hex): internal topics, compared byte for byte. */
    static Output raw(String topic) {
      return new Output(topic, Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer());
    }
  }

  /** A topology and the topics whose records the runner prints, in this order. */
  record Scenario(Topology topology, List<Output> outputs) {}

  private static final Produced<String, Long> LONGS = Produced.with(Serdes.String(), Serdes.Long());

  static Scenario build(String name) {
    return switch (name) {
      case "stateless" -> stateless();
      case "branch_merge" -> branchMerge();
      case "table_ops" -> tableOps(true);
      case "table_ops_uncached" -> tableOps(false);
      case "table_aggregate" -> tableAggregate();
      case "stream_aggregate" -> streamAggregate();
      case "repartition" -> repartition();
      case "cache_eviction" -> cacheEviction();
      case "punctuation" -> punctuation();
      case "tumbling" -> tumbling();
      case "sliding" -> sliding();
      case "session" -> session();
      case "suppress" -> suppress();
      case "stream_table_join" -> streamTableJoin();
      case "stream_stream_join" -> streamStreamJoin();
      case "table_table_join" -> tableTableJoin();
      case "global_join" -> globalJoin();
      case "fk_join" -> fkJoin();
      default -> throw new IllegalArgumentException("unknown scenario topology " + name);
    };
  }

  /**
   * A store without Kafka Streams' record cache: every update is forwarded (with the cache, the
   * driver forwards the latest update of each key after each input record). Windowed stores are
   * uncached on both sides (the Rust side does not cache them yet), and one table scenario runs
   * uncached to compare that path too.
   */
  private static <V, S extends org.apache.kafka.streams.processor.StateStore> Materialized<String, V, S> uncached(String name) {
    return Materialized.<String, V, S>as(name).withCachingDisabled();
  }

  /** A store with the record cache (Java's default for a materialized table or aggregation). */
  private static <V, S extends org.apache.kafka.streams.processor.StateStore> Materialized<String, V, S> cached(String name) {
    return Materialized.<String, V, S>as(name);
  }

  private static String str(Object o) {
    return String.valueOf(o);
  }

  /** filter/map/flat-map chains, null keys and values, one stream feeding two sinks of a topic. */
  static Scenario stateless() {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> in = b.stream("stateless-in");
    in.filterNot((k, v) -> v == null)
        .mapValues(v -> v.toUpperCase(Locale.ROOT))
        .flatMapValues(v -> Arrays.asList(v.split(" ")))
        .filter((k, v) -> !v.isEmpty())
        .selectKey((k, v) -> v.substring(0, 1))
        .map((k, v) -> KeyValue.pair(k, k + ":" + v))
        .peek((k, v) -> {})
        .to("stateless-words");
    in.filter((k, v) -> k == null).mapValues(v -> str(v)).to("stateless-null-keys");
    in.mapValues((k, v) -> k + "/" + v).to("stateless-fanout");
    in.flatMap(
            (k, v) -> v == null ? List.<KeyValue<String, String>>of() : List.of(KeyValue.pair(v, k), KeyValue.pair(k, v)))
        .to("stateless-fanout");
    in.filterNot((k, v) -> v == null)
        .flatMapValues((k, v) -> List.of(str(k), v))
        .to((k, v, ctx) -> v.length() % 2 == 0 ? "stateless-even" : "stateless-odd");
    return new Scenario(
        b.build(),
        List.of(
            Output.strings("stateless-words"),
            Output.strings("stateless-null-keys"),
            Output.strings("stateless-fanout"),
            Output.strings("stateless-even"),
            Output.strings("stateless-odd")));
  }

  /** split with named branches and a default, merges, and the order children are forwarded in. */
  static Scenario branchMerge() {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> in = b.stream("branch-in");
    Map<String, KStream<String, String>> branches =
        in.split(Named.as("b-"))
            .branch((k, v) -> v.startsWith("a"), Branched.as("a"))
            .branch((k, v) -> v.startsWith("b"), Branched.as("b"))
            .defaultBranch(Branched.as("rest"));
    branches.get("b-a").merge(branches.get("b-rest")).mapValues(v -> "m:" + v).to("branch-merged");
    branches.get("b-b").to("branch-b");
    in.split(Named.as("long-"))
        .branch((k, v) -> v.length() > 3, Branched.withConsumer(s -> s.to("branch-long")))
        .noDefaultBranch();
    in.mapValues(v -> "1" + v)
        .merge(in.filter((k, v) -> v.length() % 2 == 0).mapValues(v -> "2" + v))
        .to("branch-order");
    return new Scenario(
        b.build(),
        List.of(
            Output.strings("branch-merged"),
            Output.strings("branch-b"),
            Output.strings("branch-long"),
            Output.strings("branch-order")));
  }

  /**
   * A source table through filter, filterNot and mapValues, tombstones included; cached (a
   * tombstone for a row the table never had is dropped) or not (it is forwarded).
   */
  static Scenario tableOps(boolean caching) {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> t = b.table("table-in", caching ? cached("table-in-store") : uncached("table-in-store"));
    t.toStream().to("table-changes");
    t.filter((k, v) -> v.length() > 2).mapValues(v -> v.toUpperCase(Locale.ROOT)).toStream().to("table-filtered");
    t.filterNot((k, v) -> v.startsWith("x")).toStream().to("table-filtered-not");
    t.mapValues(v -> (long) v.length()).toStream().to("table-lengths", LONGS);
    t.mapValues((k, v) -> k + "=" + v).filter((k, v) -> v.length() > 4).toStream().to("table-keyed");
    return new Scenario(
        b.build(),
        List.of(
            Output.strings("table-changes"),
            Output.strings("table-filtered"),
            Output.strings("table-filtered-not"),
            Output.longs("table-lengths"),
            Output.strings("table-keyed")));
  }

  /** Table re-grouping: count, reduce and aggregate with subtractors, rows moving between groups. */
  static Scenario tableAggregate() {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> users = b.table("users-in", cached("users-store"));
    users.groupBy((u, region) -> KeyValue.pair(region, u))
        .count(Materialized.as("region-counts-store"))
        .toStream()
        .to("region-counts", LONGS);
    users.groupBy((u, region) -> KeyValue.pair(region, (long) u.length()), Grouped.with(Serdes.String(), Serdes.Long()))
        .reduce(Long::sum, (agg, v) -> agg - v, Materialized.<String, Long, KeyValueStore<org.apache.kafka.common.utils.Bytes, byte[]>>as("region-lengths-store").withValueSerde(Serdes.Long()))
        .toStream()
        .to("region-lengths", LONGS);
    users.groupBy((u, region) -> KeyValue.pair(region.substring(0, 1), u))
        .aggregate(() -> "", (k, v, agg) -> agg + "+" + v, (k, v, agg) -> agg + "-" + v, Materialized.as("initial-users-store"))
        .toStream()
        .to("initial-users");
    return new Scenario(
        b.build(),
        List.of(
            Output.longs("region-counts"),
            Output.longs("region-lengths"),
            Output.strings("initial-users"),
            // The table group-by's changes on the wire (Java's ChangedSerializer layout).
            Output.raw("oracle-region-counts-store-repartition"),
            Output.raw("oracle-region-lengths-store-repartition")));
  }

  /** Stream count, reduce and aggregate, null keys and values, a key-changing groupBy. */
  static Scenario streamAggregate() {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> in = b.stream("events-in");
    KGroupedStream<String, String> byKey = in.groupByKey();
    byKey.count(Materialized.as("events-count-store")).toStream().to("events-count", LONGS);
    byKey.reduce((agg, v) -> agg + "," + v, Materialized.as("events-reduce-store")).toStream().to("events-reduce");
    byKey.aggregate(
            () -> 0L,
            (k, v, agg) -> agg + (v == null ? 100 : v.length()),
            Materialized.<String, Long, KeyValueStore<org.apache.kafka.common.utils.Bytes, byte[]>>as("events-agg-store").withValueSerde(Serdes.Long()))
        .toStream()
        .to("events-agg", LONGS);
    in.groupBy((k, v) -> v == null ? null : v.substring(0, 1))
        .count(Materialized.as("events-by-initial-store"))
        .toStream()
        .to("events-by-initial", LONGS);
    return new Scenario(
        b.build(),
        List.of(
            Output.longs("events-count"),
            Output.strings("events-reduce"),
            Output.longs("events-agg"),
            Output.longs("events-by-initial")));
  }

  /** Explicit and implicit repartitions. */
  static Scenario repartition() {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> in = b.stream("rp-in");
    in.selectKey((k, v) -> v).groupByKey().count(Materialized.as("rp-counts-store")).toStream().to("rp-counts", LONGS);
    in.repartition(Repartitioned.as("rp")).mapValues(v -> v + "!").to("rp-out");
    in.map((k, v) -> KeyValue.pair(v, k))
        .groupByKey(Grouped.as("swap"))
        .reduce((agg, v) -> agg + v, Materialized.as("rp-reduce-store"))
        .toStream()
        .to("rp-reduce");
    return new Scenario(
        b.build(), List.of(Output.longs("rp-counts"), Output.strings("rp-out"), Output.strings("rp-reduce")));
  }

  /**
   * The record cache under a small budget (the scenario sets statestore.cache.max.bytes): the
   * words of each record counted and concatenated per record key. An update that does not fit is
   * evicted, so flushed and forwarded, as it is written; the rest waits for the commit after the
   * record.
   */
  static Scenario cacheEviction() {
    StreamsBuilder b = new StreamsBuilder();
    KGroupedStream<String, String> words =
        b.<String, String>stream("evict-in").flatMapValues(v -> Arrays.asList(v.split(" "))).groupByKey();
    words.count(cached("evict-count-store")).toStream().to("evict-count", LONGS);
    words.reduce((a, v) -> a + "," + v, cached("evict-concat-store")).toStream().to("evict-concat");
    return new Scenario(
        b.build(),
        List.of(
            Output.longs("evict-count"),
            Output.strings("evict-concat"),
            Output.raw("oracle-evict-count-store-changelog")));
  }

  /**
   * Processor API: counts per key in a store; every 10 ms of stream time forwards all counts,
   * every second of wall-clock time forwards ("wall", records seen).
   */
  static final class Ticker implements Processor<String, String, String, Long> {
    private KeyValueStore<String, Long> counts;
    private long seen;

    @Override
    public void init(ProcessorContext<String, Long> ctx) {
      counts = ctx.getStateStore("tick-counts");
      ctx.schedule(Duration.ofMillis(10), PunctuationType.STREAM_TIME, ts -> {
        try (KeyValueIterator<String, Long> all = counts.all()) {
          while (all.hasNext()) {
            KeyValue<String, Long> kv = all.next();
            ctx.forward(new Record<>(kv.key, kv.value, ts));
          }
        }
      });
      ctx.schedule(Duration.ofSeconds(1), PunctuationType.WALL_CLOCK_TIME, ts -> ctx.forward(new Record<>("wall", seen, ts)));
    }

    @Override
    public void process(Record<String, String> record) {
      Long old = counts.get(record.key());
      counts.put(record.key(), old == null ? 1 : old + 1);
      seen++;
    }
  }

  static Scenario punctuation() {
    Topology t = new Topology();
    t.addSource("input", Serdes.String().deserializer(), Serdes.String().deserializer(), "tick-in");
    t.addProcessor("ticker", Ticker::new, "input");
    t.addStateStore(
        Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("tick-counts"), Serdes.String(), Serdes.Long()),
        "ticker");
    t.addSink("output", "ticks", Serdes.String().serializer(), Serdes.Long().serializer(), "ticker");
    return new Scenario(t, List.of(Output.longs("ticks")));
  }

  private static Duration ms(long millis) {
    return Duration.ofMillis(millis);
  }

  /** A windowed key as a String: key@start/end. */
  static String label(Windowed<String> wk) {
    return wk.key() + "@" + wk.window().start() + "/" + wk.window().end();
  }

  /** Tumbling (with and without grace) and hopping windows: count, reduce, aggregate. */
  static Scenario tumbling() {
    StreamsBuilder b = new StreamsBuilder();
    KGroupedStream<String, String> byKey = b.<String, String>stream("tumble-in").groupByKey();
    KTable<Windowed<String>, Long> counts =
        byKey.windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(5))).count(uncached("tumble-count-store"));
    counts.toStream((wk, v) -> label(wk)).to("tumble-count", LONGS);
    counts.toStream().to("tumble-raw", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, 10), Serdes.Long()));
    byKey.windowedBy(TimeWindows.ofSizeWithNoGrace(ms(10)))
        .reduce((a, v) -> a + "," + v, uncached("tumble-reduce-store"))
        .toStream((wk, v) -> label(wk))
        .to("tumble-reduce");
    byKey.windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(5)).advanceBy(ms(3)))
        .aggregate(() -> "", (k, v, agg) -> agg + v, uncached("hop-agg-store"))
        .toStream((wk, v) -> label(wk))
        .to("hop-agg");
    return new Scenario(
        b.build(),
        List.of(
            Output.longs("tumble-count"),
            Output.raw("tumble-raw"),
            Output.strings("tumble-reduce"),
            Output.strings("hop-agg"),
            Output.raw("oracle-tumble-count-store-changelog")));
  }

  /** Sliding windows: count and aggregate. */
  static Scenario sliding() {
    StreamsBuilder b = new StreamsBuilder();
    TimeWindowedKStream<String, String> windowed = b.<String, String>stream("slide-in")
        .groupByKey()
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(10), ms(5)));
    windowed.count(uncached("slide-count-store")).toStream((wk, v) -> label(wk)).to("slide-count", LONGS);
    windowed.aggregate(() -> "", (k, v, agg) -> agg + v, uncached("slide-agg-store"))
        .toStream((wk, v) -> label(wk))
        .to("slide-agg");
    return new Scenario(
        b.build(),
        List.of(
            Output.longs("slide-count"),
            Output.strings("slide-agg"),
            Output.raw("oracle-slide-count-store-changelog")));
  }

  /** Session windows: count, aggregate with a merger, reduce; merged sessions are deleted (null values). */
  static Scenario session() {
    StreamsBuilder b = new StreamsBuilder();
    SessionWindowedKStream<String, String> sessions = b.<String, String>stream("session-in")
        .groupByKey()
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(10), ms(5)));
    KTable<Windowed<String>, Long> counts = sessions.count(uncached("session-count-store"));
    counts.toStream((wk, v) -> label(wk)).to("session-count", LONGS);
    counts.toStream().to("session-raw", Produced.with(WindowedSerdes.sessionWindowedSerdeFrom(String.class), Serdes.Long()));
    sessions.aggregate(() -> "", (k, v, agg) -> agg + v, (k, a, c) -> a + "|" + c, uncached("session-agg-store"))
        .toStream((wk, v) -> label(wk))
        .to("session-agg");
    sessions.reduce((a, v) -> a + "," + v, uncached("session-reduce-store"))
        .toStream((wk, v) -> label(wk))
        .to("session-reduce");
    return new Scenario(
        b.build(),
        List.of(
            Output.longs("session-count"),
            Output.raw("session-raw"),
            Output.strings("session-agg"),
            Output.strings("session-reduce"),
            Output.raw("oracle-session-count-store-changelog")));
  }

  /**
   * Final results: suppress until a window closes, the on-window-close emit strategy (throttled by
   * the wall clock) and a time-limited suppression with a two-record buffer that emits early.
   */
  static Scenario suppress() {
    StreamsBuilder b = new StreamsBuilder();
    KGroupedStream<String, String> byKey = b.<String, String>stream("suppress-in").groupByKey();
    byKey.windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(5)))
        // The key serde must be given: suppress's buffer serializes the windowed key, and without it
        // falls back to the default (String) serde and fails with a ClassCastException.
        .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("final-count-store").withKeySerde(Serdes.String()).withCachingDisabled())
        .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
        .toStream((wk, v) -> label(wk))
        .to("final-count", LONGS);
    byKey.windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(5)))
        .emitStrategy(EmitStrategy.onWindowClose())
        .count(uncached("emit-final-store"))
        .toStream((wk, v) -> label(wk))
        .to("emit-final", LONGS);
    byKey.count(cached("limit-count-store"))
        .suppress(Suppressed.untilTimeLimit(Duration.ofMillis(10), BufferConfig.maxRecords(2)))
        .toStream()
        .to("limit-count", LONGS);
    return new Scenario(
        b.build(),
        List.of(Output.longs("final-count"), Output.longs("emit-final"), Output.longs("limit-count")));
  }

  /**
   * The prefix of a value before its first ':' (the order's customer or product id), null for a
   * null value. The null check is needed: Java calls key selectors and GlobalKTable key mappers on
   * null values too, and {@code v.split(":")} would throw a NullPointerException there.
   */
  static String prefix(String v) {
    return v == null ? null : v.split(":")[0];
  }

  /**
   * Stream-table inner and left joins on the stream's key, and an inner join after a key change
   * (selectKey), which Java repartitions through oracle-KSTREAM-KEY-SELECT-0000000007-repartition.
   * Table updates never emit; a stream record joins the table row as of its arrival.
   */
  static Scenario streamTableJoin() {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> orders = b.stream("stj-orders");
    KTable<String, String> customers = b.table("stj-customers", cached("stj-customers-store"));
    orders.join(customers, (o, c) -> o + "/" + c).to("stj-inner");
    orders.leftJoin(customers, (o, c) -> o + "/" + c).to("stj-left");
    orders.selectKey((k, v) -> prefix(v)).join(customers, (o, c) -> o + "@" + c).to("stj-rekeyed");
    return new Scenario(
        b.build(),
        List.of(
            Output.strings("stj-inner"),
            Output.strings("stj-left"),
            Output.strings("stj-rekeyed"),
            // The rekeyed orders on the wire (null keys are filtered out before it).
            Output.raw("oracle-KSTREAM-KEY-SELECT-0000000007-repartition")));
  }

  /**
   * Stream-stream inner, left and outer joins over a symmetric 10 ms window with 5 ms grace (left and
   * outer results wait in the shared outer store until the window closes), and an inner join over an
   * asymmetric window (3 ms before, 6 ms after, no grace). Default StreamJoined: unnamed, logged stores.
   * The left join writes to ssj-left-join, not ssj-left: that is the left input topic, and the driver
   * would feed the join's output back into it forever.
   */
  static Scenario streamStreamJoin() {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> left = b.stream("ssj-left");
    KStream<String, String> right = b.stream("ssj-right");
    JoinWindows w = JoinWindows.ofTimeDifferenceAndGrace(ms(10), ms(5));
    left.join(right, (a, c) -> a + "+" + c, w).to("ssj-inner");
    left.leftJoin(right, (a, c) -> a + "+" + c, w).to("ssj-left-join");
    left.outerJoin(right, (a, c) -> a + "+" + c, w).to("ssj-outer");
    left.join(right, (a, c) -> a + "&" + c, JoinWindows.ofTimeDifferenceWithNoGrace(ms(3)).after(ms(6))).to("ssj-asym");
    return new Scenario(
        b.build(),
        List.of(
            Output.strings("ssj-inner"),
            Output.strings("ssj-left-join"),
            Output.strings("ssj-outer"),
            Output.strings("ssj-asym")));
  }

  /**
   * Table-table inner, left and outer joins, and a re-grouping count downstream of an inner join
   * (which makes the join send old values, to subtract them from the count). The left join writes to
   * ttj-left-join: ttj-left is the left table's topic.
   */
  static Scenario tableTableJoin() {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> l = b.table("ttj-left", cached("ttj-left-store"));
    KTable<String, String> r = b.table("ttj-right", cached("ttj-right-store"));
    l.join(r, (a, c) -> a + "+" + c).toStream().to("ttj-inner");
    l.leftJoin(r, (a, c) -> a + "+" + c).toStream().to("ttj-left-join");
    l.outerJoin(r, (a, c) -> a + "+" + c).toStream().to("ttj-outer");
    l.join(r, (a, c) -> a + "+" + c)
        .groupBy((k, v) -> KeyValue.pair(v.substring(0, 1), v), Grouped.with(Serdes.String(), Serdes.String()))
        .count(cached("ttj-count-store"))
        .toStream()
        .to("ttj-counts", LONGS);
    return new Scenario(
        b.build(),
        List.of(
            Output.strings("ttj-inner"),
            Output.strings("ttj-left-join"),
            Output.strings("ttj-outer"),
            Output.longs("ttj-counts")));
  }

  /**
   * Stream-GlobalKTable inner and left joins on a key taken from the order's value (its prefix before
   * ':'). The global store is updated as soon as a product record is piped.
   */
  static Scenario globalJoin() {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> orders = b.stream("gj-orders");
    GlobalKTable<String, String> products = b.globalTable("gj-products", uncached("gj-products-store"));
    orders.join(products, (k, v) -> prefix(v), (o, p) -> o + "/" + p).to("gj-inner");
    orders.leftJoin(products, (k, v) -> prefix(v), (o, p) -> o + "/" + p).to("gj-left");
    return new Scenario(b.build(), List.of(Output.strings("gj-inner"), Output.strings("gj-left")));
  }

  /**
   * Foreign-key table-table inner and left joins: an order's product id is its value's prefix before
   * ':'. Java routes each order through the subscription-registration topic (keyed by product) and the
   * product side's answers back through the subscription-response topic (keyed by order); both are
   * printed raw.
   */
  static Scenario fkJoin() {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> orders = b.table("fk-orders", cached("fk-orders-store"));
    KTable<String, String> products = b.table("fk-products", cached("fk-products-store"));
    orders.join(products, v -> prefix(v), (o, p) -> o + "/" + p).toStream().to("fk-inner");
    orders.leftJoin(products, v -> prefix(v), (o, p) -> o + "/" + p).toStream().to("fk-left");
    return new Scenario(
        b.build(),
        List.of(
            Output.strings("fk-inner"),
            Output.strings("fk-left"),
            Output.raw("oracle-KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000004-topic"),
            Output.raw("oracle-KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-0000000012-topic")));
  }

  private Scenarios() {}
}
