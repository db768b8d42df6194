package streamsrs;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The join benchmark of issue #14 (examples/benches/joins.rs) through Java's TopologyTestDriver,
 * with the same generated input, piped as bytes (as ours pipes raw bytes) into topologies that
 * read them with String serdes.
 *
 * <p>Usage: JoinBench stream|table [ROUNDS [rocksdb|memory [RECORDS]]] (RECORDS: 1M by default). "stream": the stream-stream inner
 * join, JoinWindows.ofTimeDifferenceWithNoGrace(1 min), 1M records a side, interleaved, left i and
 * right i both at i * 10 ms, left key k{(i * 7919) % 4000}, right key k{((i + 1000) * 7919) %
 * 4000}: three partners each. "table": 100k rows customer{j} -> name-{j} first, then 1M records
 * customer{(i * 7919) % 100k} -> order{i}, joined as order/customer. "rocksdb" (the default):
 * Java's default stores, logged; "memory": in-memory stores (the stream-stream join's also
 * unlogged, as ours with `persistent: false, logging: false`). The record cache is off
 * (statestore.cache.max.bytes=0), as ours has none. Each round builds a fresh driver; prints the
 * time and rate of every round and the best.
 */
public final class JoinBench {
  static int RECORDS = 1_000_000;
  static final int ROWS = 100_000;
  static final int POOL = 4_000;
  static final long STEP_MS = 10;

  public static void main(String[] args) throws Exception {
    String part = args.length > 0 ? args[0] : "stream";
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    boolean memory = args.length > 2 && args[2].equals("memory");
    if (args.length > 3) RECORDS = Integer.parseInt(args[3]);
    long best = Long.MAX_VALUE;
    long inputs;
    if (part.equals("stream")) {
      byte[][] keys = new byte[2 * RECORDS][];
      byte[][] values = new byte[2 * RECORDS][];
      for (int i = 0; i < RECORDS; i++) {
        keys[2 * i] = bytes("k" + (int) (((long) i * 7919) % POOL));
        values[2 * i] = bytes("l" + i);
        keys[2 * i + 1] = bytes("k" + (int) (((long) (i + 1000) * 7919) % POOL));
        values[2 * i + 1] = bytes("r" + i);
      }
      long expected = expectedPairs();
      inputs = 2L * RECORDS;
      for (int r = 0; r < rounds; r++) {
        long t = System.nanoTime();
        long out = runStream(keys, values, memory);
        long took = System.nanoTime() - t;
        if (out != expected) throw new IllegalStateException(out + " joined, expected " + expected);
        report("stream-stream join (" + (memory ? "in-memory, unlogged" : "RocksDB, logged") + "), " + out + " joined", took, inputs);
        best = Math.min(best, took);
      }
    } else {
      byte[][] rowKeys = new byte[ROWS][];
      byte[][] rowValues = new byte[ROWS][];
      for (int j = 0; j < ROWS; j++) {
        rowKeys[j] = bytes("customer" + j);
        rowValues[j] = bytes("name-" + j);
      }
      byte[][] keys = new byte[RECORDS][];
      byte[][] values = new byte[RECORDS][];
      for (int i = 0; i < RECORDS; i++) {
        keys[i] = bytes("customer" + (int) (((long) i * 7919) % ROWS));
        values[i] = bytes("order" + i);
      }
      inputs = ROWS + RECORDS;
      for (int r = 0; r < rounds; r++) {
        long t = System.nanoTime();
        long out = runTable(rowKeys, rowValues, keys, values, memory);
        long took = System.nanoTime() - t;
        if (out != RECORDS) throw new IllegalStateException(out + " joined, expected " + RECORDS);
        report("stream-table join (" + (memory ? "in-memory table" : "RocksDB table") + ")", took, inputs);
        best = Math.min(best, took);
      }
    }
    System.out.printf("best: %.0f ms, %.0f rec/s%n", best / 1e6, inputs / (best / 1e9));
  }

  static void report(String what, long nanos, long inputs) {
    System.out.printf("%s: %.0f ms, %.0f rec/s%n", what, nanos / 1e6, inputs / (nanos / 1e9));
    System.out.flush();
  }

  static long expectedPairs() {
    long window = 60_000 / STEP_MS;
    long n = 0;
    for (long i = 0; i < RECORDS; i++) {
      for (long d : new long[] {-5000, -1000, 3000}) {
        if (i + d >= 0 && i + d < RECORDS && Math.abs(d) <= window) n++;
      }
    }
    return n;
  }

  static long runStream(byte[][] keys, byte[][] values, boolean memory) throws Exception {
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> left = builder.stream("left", Consumed.with(Serdes.String(), Serdes.String()));
    KStream<String, String> right = builder.stream("right", Consumed.with(Serdes.String(), Serdes.String()));
    StreamJoined<String, String, String> joined = StreamJoined.with(Serdes.String(), Serdes.String(), Serdes.String());
    if (memory) {
      joined = joined.withDslStoreSuppliers(new BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers()).withLoggingDisabled();
    }
    left.join(right, (l, r) -> l + "+" + r, JoinWindows.ofTimeDifferenceWithNoGrace(Duration.ofMinutes(1)), joined)
        .to("paired", Produced.with(Serdes.String(), Serdes.String()));
    Path state = Files.createTempDirectory("join-bench-");
    try (TopologyTestDriver driver = new TopologyTestDriver(builder.build(), props(state))) {
      TestInputTopic<byte[], byte[]> l = driver.createInputTopic("left", new ByteArraySerializer(), new ByteArraySerializer());
      TestInputTopic<byte[], byte[]> r = driver.createInputTopic("right", new ByteArraySerializer(), new ByteArraySerializer());
      for (int i = 0; i < keys.length; i++) {
        (i % 2 == 0 ? l : r).pipeInput(keys[i], values[i], (i / 2) * STEP_MS);
      }
      return driver.createOutputTopic("paired", new StringDeserializer(), new StringDeserializer()).getQueueSize();
    } finally {
      delete(state);
    }
  }

  static long runTable(byte[][] rowKeys, byte[][] rowValues, byte[][] keys, byte[][] values, boolean memory)
      throws Exception {
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> orders = builder.stream("orders", Consumed.with(Serdes.String(), Serdes.String()));
    Materialized<String, String, KeyValueStore<Bytes, byte[]>> store =
        Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("customers-store")
            .withKeySerde(Serdes.String())
            .withValueSerde(Serdes.String());
    if (memory) store = store.withStoreType(Materialized.StoreType.IN_MEMORY);
    KTable<String, String> customers = builder.table("customers", Consumed.with(Serdes.String(), Serdes.String()), store);
    orders.join(customers, (order, customer) -> order + "/" + customer)
        .to("enriched", Produced.with(Serdes.String(), Serdes.String()));
    Topology topology = builder.build();
    Path state = Files.createTempDirectory("join-bench-");
    try (TopologyTestDriver driver = new TopologyTestDriver(topology, props(state))) {
      TestInputTopic<byte[], byte[]> table = driver.createInputTopic("customers", new ByteArraySerializer(), new ByteArraySerializer());
      for (int j = 0; j < rowKeys.length; j++) table.pipeInput(rowKeys[j], rowValues[j], j);
      TestInputTopic<byte[], byte[]> stream = driver.createInputTopic("orders", new ByteArraySerializer(), new ByteArraySerializer());
      for (int i = 0; i < keys.length; i++) stream.pipeInput(keys[i], values[i], ROWS + i);
      return driver.createOutputTopic("enriched", new StringDeserializer(), new StringDeserializer()).getQueueSize();
    } finally {
      delete(state);
    }
  }

  static Properties props(Path state) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "join-bench");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    return props;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static void delete(Path dir) throws Exception {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private JoinBench() {}
}
