package streamsrs;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The reference's WordCountDemo topology (split on \W+, group by word, count into "counts-store")
 * or the pipe topology, as a KafkaStreams application, for the drop-in test and the benchmarks.
 *
 * <p>Usage: WordCountApp wordcount|pipe BOOTSTRAP APPLICATION_ID INPUT OUTPUT STATE_DIR GUARANTEE
 * COMMIT_MS THREADS [CACHE_BYTES] (statestore.cache.max.bytes, 0 unless given: every update is
 * written). It prints "RUNNING" once the instance runs and runs until its standard input
 * has a line "stop" or ends; then it closes, leaving the consumer group so the next instance (ours,
 * say) is assigned at once, and prints "CLOSED".
 */
public final class WordCountApp {
  public static void main(String[] args) throws Exception {
    String topology = args[0];
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[5]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[6]);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args[7]);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, args[8]);
    // Every update goes downstream unless a record cache is asked for.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, args.length > 9 ? Long.parseLong(args[9]) : 0L);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    StreamsBuilder builder = new StreamsBuilder();
    if (topology.equals("pipe")) {
      // Bytes in, bytes out (as ours).
      builder.stream(args[3], Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
          .to(args[4], Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
    } else {
      KStream<String, String> source = builder.stream(args[3]);
      source
          .flatMapValues(value -> Arrays.asList(value.toLowerCase(Locale.getDefault()).split("\\W+")))
          .groupBy((key, value) -> value)
          .count(Materialized.as("counts-store"))
          .toStream()
          .to(args[4], Produced.with(Serdes.String(), Serdes.Long()));
    }

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch running = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) running.countDown();
    });
    streams.start();
    running.await();
    System.out.println("RUNNING");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null && !line.trim().equals("stop")) {}
    streams.close(new KafkaStreams.CloseOptions().leaveGroup(true).timeout(Duration.ofSeconds(30)));
    System.out.println("CLOSED");
    System.out.flush();
  }

  private WordCountApp() {}
}
