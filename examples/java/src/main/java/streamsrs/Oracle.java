package streamsrs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/**
 * The differential oracle's runner: feeds each scenario file through Java's TopologyTestDriver
 * and writes every output record as a JSON line {"topic","key","value","timestamp"} to
 * OUT_DIR/<file name>, topic after topic in the scenario's order.
 *
 * <p>A scenario file is JSON lines: first {"topology": NAME} (with "statestore_cache_max_bytes" to
 * set the record cache's budget; Java's default otherwise), then steps, either
 * {"topic": T, "key": K, "value": V, "timestamp": MS} (K, V strings or null) or
 * {"advance_wall_clock_ms": MS}. The driver's wall clock starts at 1,000,000 ms.
 *
 * <p>Usage: Oracle OUT_DIR SCENARIO...
 */
public final class Oracle {
  /** Where the mock wall clock starts, on both sides. */
  static final long INITIAL_WALL_CLOCK_MS = 1_000_000L;

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    Files.createDirectories(out);
    ObjectMapper json = new ObjectMapper();
    for (int i = 1; i < args.length; i++) {
      Path file = Path.of(args[i]);
      List<String> lines = Files.readAllLines(file);
      JsonNode header = json.readTree(lines.get(0));
      Scenarios.Scenario scenario = Scenarios.build(header.get("topology").asText());
      try (BufferedWriter w = Files.newBufferedWriter(out.resolve(file.getFileName()))) {
        run(json, scenario, header, lines.subList(1, lines.size()), w, out);
      }
    }
  }

  private static void run(
      ObjectMapper json, Scenarios.Scenario scenario, JsonNode header, List<String> steps, BufferedWriter w, Path out)
      throws Exception {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "oracle");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory(out, ".state-").toString());
    if (header.has("statestore_cache_max_bytes")) {
      props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, header.get("statestore_cache_max_bytes").asLong());
    }
    try (TopologyTestDriver driver =
        new TopologyTestDriver(scenario.topology(), props, Instant.ofEpochMilli(INITIAL_WALL_CLOCK_MS))) {
      Map<String, TestInputTopic<String, String>> inputs = new HashMap<>();
      for (String line : steps) {
        if (line.isBlank()) continue;
        JsonNode step = json.readTree(line);
        if (step.has("advance_wall_clock_ms")) {
          driver.advanceWallClockTime(Duration.ofMillis(step.get("advance_wall_clock_ms").asLong()));
          continue;
        }
        String topic = step.get("topic").asText();
        TestInputTopic<String, String> input = inputs.computeIfAbsent(
            topic, t -> driver.createInputTopic(t, Serdes.String().serializer(), Serdes.String().serializer()));
        input.pipeInput(new TestRecord<>(text(step.get("key")), text(step.get("value")), Instant.ofEpochMilli(step.get("timestamp").asLong())));
      }
      for (Scenarios.Output output : scenario.outputs()) {
        @SuppressWarnings("unchecked")
        TestOutputTopic<Object, Object> topic = driver.createOutputTopic(
            output.topic(),
            (org.apache.kafka.common.serialization.Deserializer<Object>) output.key(),
            (org.apache.kafka.common.serialization.Deserializer<Object>) output.value());
        for (TestRecord<Object, Object> r : topic.readRecordsToList()) {
          ObjectNode node = json.createObjectNode();
          node.put("topic", output.topic());
          node.set("key", json.valueToTree(hexIfBytes(r.key())));
          node.set("value", json.valueToTree(hexIfBytes(r.value())));
          node.put("timestamp", r.timestamp());
          w.write(json.writeValueAsString(node));
          w.newLine();
        }
      }
    }
  }

  private static Object hexIfBytes(Object o) {
    if (!(o instanceof byte[] bytes)) return o;
    StringBuilder hex = new StringBuilder();
    for (byte b : bytes) hex.append(String.format("%02x", b));
    return hex.toString();
  }

  private static String text(JsonNode node) {
    return node == null || node.isNull() ? null : node.asText();
  }

  private Oracle() {}
}
