package dev.kavka.examples.streams;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Order analytics with Kafka Streams: the guide's answer to "regular consumer vs Kafka Streams" as a running
 * application (state stores backed by changelog topics, groupBy/aggregate, windowing, a table-stream join).
 *
 * <p>Input (all keys and values are UTF-8 strings):
 * <ul>
 *   <li>{@code orders}: key userId, value {@code orderId,userId,amount} (amount a whole number, e.g. cents);
 *       the record timestamp decides the window.</li>
 *   <li>{@code users} (compacted): key userId, value {@code name,region}; a null value deletes the user.</li>
 * </ul>
 * Output:
 * <ul>
 *   <li>{@code order-totals-windowed}: key {@code userId@windowStartMillis}, value the sum of the amounts of
 *       that user's orders in that one-minute tumbling window (updated as orders arrive).</li>
 *   <li>{@code orders-enriched}: key userId, value {@code orderId,userId,amount,name,region}, one record per
 *       order whose user is known (an inner KStream-KTable join).</li>
 *   <li>{@code order-totals-by-region}: key region, value the sum of the amounts of the enriched orders of
 *       that region: a groupBy that re-keys, so Kafka Streams writes through a repartition topic.</li>
 * </ul>
 * State stores (each with a changelog topic {@code <application.id>-<store>-changelog} that Kafka Streams
 * creates): {@value #USERS_STORE}, {@value #WINDOWED_STORE} (windowed), {@value #REGION_STORE}; the re-keyed
 * stream goes through {@code <application.id>-}{@value #REGION_REPARTITION}{@code -repartition}.
 *
 * <p>Run: {@code OrderAnalytics --bootstrap-servers HOST:PORT [--application-id ID] [--state-dir DIR]
 * [--topic-prefix P] [streams.config=value ...]}; {@code BOOTSTRAP_SERVERS}, {@code APPLICATION_ID} and
 * {@code STATE_DIR} in the environment are the defaults. processing.guarantee is exactly_once_v2. The
 * program prints {@code state <NEW>} on stdout at every state change and runs until SIGTERM (closing the
 * Streams client) or a fatal error (exit status 1).
 */
public final class OrderAnalytics {
    private static final Logger LOG = LoggerFactory.getLogger(OrderAnalytics.class);

    static final String USERS_STORE = "users-by-id";
    static final String WINDOWED_STORE = "order-totals-per-user-1m";
    static final String REGION_STORE = "order-totals-per-region";
    static final String REGION_REPARTITION = "orders-by-region";
    static final Duration WINDOW = Duration.ofMinutes(1);
    /** Orders up to an hour late still count in their window (the test writes its timestamps explicitly). */
    static final Duration GRACE = Duration.ofHours(1);

    private OrderAnalytics() {
    }

    /** The topics the application reads and writes, each name behind an optional common prefix. */
    record Topics(String orders, String users, String windowedTotals, String enriched, String regionTotals) {
        static Topics withPrefix(String p) {
            return new Topics(p + "orders", p + "users", p + "order-totals-windowed", p + "orders-enriched",
                p + "order-totals-by-region");
        }
    }

    /** An order value {@code orderId,userId,amount}; null when the value does not have that form. */
    record Order(String orderId, String userId, long amount) {
        static Order parse(String value) {
            if (value == null) {
                return null;
            }
            String[] f = value.split(",", -1);
            if (f.length != 3) {
                return null;
            }
            try {
                return new Order(f[0], f[1], Long.parseLong(f[2].trim()));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /** The region of an enriched value {@code orderId,userId,amount,name,region} (the last field). */
    static String regionOf(String enriched) {
        return enriched.substring(enriched.lastIndexOf(',') + 1);
    }

    /** The amount of an enriched value (its third field). */
    static long amountOf(String enriched) {
        return Long.parseLong(enriched.split(",", -1)[2]);
    }

    /** The topology; {@code props} matter for {@code topology.optimization} (e.g. "all" reuses the users
     * topic as the users store's changelog instead of creating one). */
    static Topology topology(Topics t, Properties props) {
        StreamsBuilder builder = new StreamsBuilder();

        KStream<String, String> orders = builder
            .stream(t.orders(), Consumed.with(Serdes.String(), Serdes.String()))
            .filter((userId, value) -> {
                if (Order.parse(value) == null) {
                    LOG.warn("skipping an order that is not 'orderId,userId,amount': key={} value={}", userId, value);
                    return false;
                }
                return true;
            });

        KTable<String, String> users = builder.table(t.users(), Consumed.with(Serdes.String(), Serdes.String()),
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as(USERS_STORE)
                .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()));

        // Totals per user in one-minute tumbling windows (by record time). The key is already the user:
        // no repartition; the window store's changelog is compacted and time-limited.
        orders
            .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
            .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW, GRACE))
            .aggregate(() -> 0L, (userId, value, total) -> total + Order.parse(value).amount(),
                Materialized.<String, Long, WindowStore<Bytes, byte[]>>as(WINDOWED_STORE)
                    .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
            .toStream()
            .map((window, total) -> KeyValue.pair(window.key() + "@" + window.window().start(), Long.toString(total)))
            .to(t.windowedTotals(), Produced.with(Serdes.String(), Serdes.String()));

        // Orders joined with the user's current row: orders and users are co-partitioned by userId.
        KStream<String, String> enriched = orders.join(users, (order, user) -> order + "," + user,
            Joined.with(Serdes.String(), Serdes.String(), Serdes.String()));
        enriched.to(t.enriched(), Produced.with(Serdes.String(), Serdes.String()));

        // Re-keyed by region: the records travel through a repartition topic to the task owning the region.
        enriched
            .groupBy((userId, value) -> regionOf(value), Grouped.with(REGION_REPARTITION, Serdes.String(), Serdes.String()))
            .aggregate(() -> 0L, (region, value, total) -> total + amountOf(value),
                Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as(REGION_STORE)
                    .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
            .toStream()
            .mapValues(total -> Long.toString(total))
            .to(t.regionTotals(), Produced.with(Serdes.String(), Serdes.String()));

        return builder.build(props);
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    private static void usage(String why) {
        System.err.println("OrderAnalytics: " + why);
        System.err.println("usage: OrderAnalytics --bootstrap-servers HOST:PORT [--application-id ID] [--state-dir DIR]"
            + " [--topic-prefix P] [streams.config=value ...]");
        System.exit(2);
    }

    public static void main(String[] args) {
        String bootstrap = env("BOOTSTRAP_SERVERS", null);
        String applicationId = env("APPLICATION_ID", "order-analytics");
        String stateDir = env("STATE_DIR", null);
        String prefix = "";
        List<String[]> overrides = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean option = a.startsWith("--");
            if (option && i + 1 >= args.length) {
                usage(a + " needs a value");
            }
            switch (a) {
                case "--bootstrap-servers" -> bootstrap = args[++i];
                case "--application-id" -> applicationId = args[++i];
                case "--state-dir" -> stateDir = args[++i];
                case "--topic-prefix" -> prefix = args[++i];
                default -> {
                    int eq = a.indexOf('=');
                    if (option || eq <= 0) {
                        usage("unknown argument " + a);
                    }
                    overrides.add(new String[] {a.substring(0, eq), a.substring(eq + 1)});
                }
            }
        }
        if (bootstrap == null) {
            usage("no bootstrap servers: pass --bootstrap-servers or set BOOTSTRAP_SERVERS");
        }

        Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        if (stateDir != null) {
            props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        }
        for (String[] kv : overrides) {
            props.put(kv[0], kv[1]);
        }

        Topology topology = topology(Topics.withPrefix(prefix), props);
        LOG.info("topology\n{}", topology.describe());
        KafkaStreams streams = new KafkaStreams(topology, props);
        CountDownLatch stopped = new CountDownLatch(1);
        boolean[] failed = {false};
        streams.setStateListener((now, before) -> {
            LOG.info("state {} -> {}", before, now);
            System.out.println("state " + now);
            System.out.flush();
            if (now == KafkaStreams.State.ERROR) {
                failed[0] = true;
            }
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
                stopped.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("stream thread failed; shutting the client down", e);
            failed[0] = true;
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            // close() returns as soon as the state is NOT_RUNNING, maybe before the listener has reported it:
            // the JVM halts when this hook ends, so wait for that report.
            try {
                stopped.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "order-analytics-shutdown"));
        streams.start();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (failed[0]) {
            streams.close(Duration.ofSeconds(10));
            System.exit(1);
        }
    }
}
