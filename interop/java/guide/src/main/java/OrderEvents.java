import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The guide's producer snippets after the OrderProducer: the JsonSerializer for an Order, the
 * RegionPartitioner, the async send with a callback that logs partition and offset, and the blocking
 * {@code send(...).get()}.
 *
 * <p>Usage: {@code OrderEvents <bootstrap> <topic>}. Sends nine orders asynchronously (regions US, EU,
 * APAC, US, EU, LATAM, US, EU, APAC), each callback logging {@code Sent to partition=P offset=O} (INFO,
 * stderr), then one EU order blocking, printing {@code Blocking send: partition=P offset=O} to stdout.
 */
public class OrderEvents {
    // Changed: the guide's snippets use a `log` they do not declare; this is slf4j's.
    private static final Logger log = LoggerFactory.getLogger(OrderEvents.class);

    public static void main(String[] args) throws Exception {
        // Changed: the settings of the guide's OrderProducer, with the bootstrap address from the arguments.
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        String topic = args[1];
        props.put("key.serializer",
            "org.apache.kafka.common.serialization.StringSerializer");
        props.put("acks", "all");
        props.put("retries", 3);
        props.put("enable.idempotence", "true");
        // Changed: the guide's custom partitioner, configured the usual way.
        props.put("partitioner.class", RegionPartitioner.class);

        // Using it with an Order object
        props.put("value.serializer", JsonSerializer.class);

        List<String> regions = List.of("US", "EU", "APAC", "US", "EU", "LATAM", "US", "EU", "APAC");
        try (KafkaProducer<String, Order> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < regions.size(); i++) {
                Order order = new Order("o-" + i, regions.get(i), 100L * (i + 1));
                // Changed: the key is the order's region (the guide keys by order.getId()), because the
                // guide's RegionPartitioner reads the key as the region.
                ProducerRecord<String, Order> record =
                    new ProducerRecord<>(topic, order.getRegion(), order);
                // Async send with callback — know this for interviews!
                producer.send(record, (metadata, exception) -> {
                    if (exception != null) {
                        log.error("Failed to send: {}", exception.getMessage());
                        // handle retry or DLQ
                    } else {
                        log.info("Sent to partition={} offset={}",
                            metadata.partition(),
                            metadata.offset());
                    }
                });
            }

            Order order = new Order("o-sync", "EU", 999L);
            ProducerRecord<String, Order> record =
                new ProducerRecord<>(topic, order.getRegion(), order);
            // For sync (blocking) confirmation:
            RecordMetadata meta = producer.send(record).get();
            // .get() blocks until broker acks
            // Changed: print what .get() returned, for the test to check.
            System.out.printf("Blocking send: partition=%d offset=%d%n", meta.partition(), meta.offset());
        }
    }
}
