import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once consume-transform-produce: the guide's "Exactly-Once for Payments" producer (transactional.id,
 * enable.idempotence, acks=all, initTransactions / beginTransaction / commitTransaction, abort on
 * ProducerFencedException) driven by a read_committed consumer, with the consumed offsets committed inside
 * each transaction by {@code sendOffsetsToTransaction}.
 *
 * <p>Usage: {@code TransactionalProcessor <bootstrap> <input> <output> <group> <records> <transactional.id>
 * [abort-first]}. Each input record goes to the output topic with the same key and the value upper-cased.
 * With {@code abort-first} the first batch is sent and then aborted (logged {@code aborted N}), and the
 * consumer is rewound to redo it, so the output log holds aborted records that read_committed readers must
 * never see. Stops after {@code records} inputs are committed (logged {@code committed N}) or 60 s (exit 2).
 */
public class TransactionalProcessor {
    private static final Logger log = LoggerFactory.getLogger(TransactionalProcessor.class);

    public static void main(String[] args) {
        String bootstrap = args[0];
        String input = args[1];
        String output = args[2];
        String group = args[3];
        int expected = Integer.parseInt(args[4]);
        String transactionalId = args[5];
        boolean abortFirst = args.length > 6 && args[6].equals("abort-first");

        Properties cprops = new Properties();
        cprops.put("bootstrap.servers", bootstrap);
        cprops.put("group.id", group);
        cprops.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        cprops.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        cprops.put("auto.offset.reset", "earliest");
        cprops.put("enable.auto.commit", "false");
        cprops.put("isolation.level", "read_committed");

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        props.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        // Producer with exactly-once semantics (transactions)
        // Changed: the transactional.id comes from the arguments (the guide's is "payment-service-1").
        props.put("transactional.id", transactionalId);
        props.put("enable.idempotence", "true");
        props.put("acks", "all");

        int committed = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cprops);
             KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            consumer.subscribe(List.of(input));
            producer.initTransactions();
            boolean abortNext = abortFirst;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (committed < expected && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
                if (records.isEmpty()) {
                    continue;
                }
                Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
                Map<TopicPartition, Long> first = new HashMap<>();
                try {
                    producer.beginTransaction();
                    for (ConsumerRecord<String, String> record : records) {
                        producer.send(new ProducerRecord<>(output, record.key(), record.value().toUpperCase()));
                        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                        first.putIfAbsent(tp, record.offset());
                        next.put(tp, new OffsetAndMetadata(record.offset() + 1));
                    }
                    if (abortNext) {
                        abortNext = false;
                        // flush first: abortTransaction drops records not yet sent, and the point of this
                        // abort is to leave aborted records in the output log for readers to skip
                        producer.flush();
                        producer.abortTransaction();
                        first.forEach(consumer::seek); // redo the batch in the next transaction
                        log.info("aborted {}", records.count());
                        continue;
                    }
                    producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
                    producer.commitTransaction(); // atomic!
                    committed += records.count();
                    log.info("committed {}", records.count());
                } catch (ProducerFencedException e) {
                    producer.abortTransaction(); // roll back both (as the guide writes it)
                    throw e;
                }
            }
        }
        if (committed < expected) {
            System.out.printf("timed out after %d of %d records%n", committed, expected);
            System.exit(2);
        }
        System.out.printf("processed %d records%n", committed);
    }
}
