import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The guide's "Consumer — Complete Java Example".
 *
 * <p>Usage: {@code OrderConsumer <bootstrap> <topic> <records> [group.id] [group.protocol] [hold]}.
 * Polls until it has seen {@code records} records (or 60 s pass: exit code 2), printing each as the
 * guide does and committing after each poll. Then it prints {@code group=<id> member=<member id>
 * generation=<n>}; with a 6th argument {@code hold} it also prints {@code holding} and stays in the
 * group until its stdin closes, so a test can describe the live group. group.id defaults to the guide's
 * order-service-group; group.protocol, when given, is set (classic, or consumer for KIP-848).
 */
public class OrderConsumer {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        // Changed: the bootstrap address, topic and group come from the arguments.
        props.put("bootstrap.servers", args[0]);
        String topic = args[1];
        int expected = Integer.parseInt(args[2]);
        props.put("group.id", args.length > 3 ? args[3] : "order-service-group");
        // Changed: the guide abbreviates the class names as "...StringDeserializer".
        props.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        props.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        props.put("auto.offset.reset", "earliest"); // start from beginning
        props.put("enable.auto.commit", "false"); // manual commit!
        // Changed: added, to run the same consumer with the classic and the KIP-848 protocol.
        if (args.length > 4) {
            props.put("group.protocol", args[4]);
        }
        boolean hold = args.length > 5 && args[5].equals("hold");

        int seen = 0;
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props)) {

            consumer.subscribe(List.of(topic));

            // Changed: the guide loops forever (`while (true)`); this stops after `expected` records or 60 s.
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (seen < expected && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> records =
                    consumer.poll(Duration.ofMillis(100));

                for (ConsumerRecord<String, String> record : records) {
                    System.out.printf(
                        "P:%d Offset:%d Key:%s Value:%s%n",
                        record.partition(),
                        record.offset(),
                        record.key(),
                        record.value()
                    );
                    processOrder(record.value());
                    seen++;
                }
                // Commit AFTER processing (at-least-once semantics)
                consumer.commitSync();
            }
            System.out.printf("group=%s member=%s generation=%d%n", consumer.groupMetadata().groupId(),
                consumer.groupMetadata().memberId(), consumer.groupMetadata().generationId());
            if (hold) {
                System.out.println("holding");
                System.out.flush();
                InputStream in = System.in;
                while (in.read() != -1) {
                    // wait for EOF: the test has looked at the group
                }
            }
        }
        if (seen < expected) {
            System.out.printf("timed out after %d of %d records%n", seen, expected);
            System.exit(2);
        }
    }

    // Changed: the guide calls processOrder without showing it; processing is the printf above.
    private static void processOrder(String value) {
    }
}
