import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The guide's "Producer — Complete Java Example", as written.
 *
 * <p>Usage: {@code OrderProducer <bootstrap> <topic>}: sends order-0..order-9 with values {"id":i}.
 */
public class OrderProducer {
    public static void main(String[] args) {
        Properties props = new Properties();
        // Changed: the bootstrap address and the topic come from the arguments ("localhost:9092", "orders").
        props.put("bootstrap.servers", args[0]);
        String topic = args[1];
        props.put("key.serializer",
            "org.apache.kafka.common.serialization.StringSerializer");
        props.put("value.serializer",
            "org.apache.kafka.common.serialization.StringSerializer");
        // Durability settings
        props.put("acks", "all");
        props.put("retries", 3);
        props.put("enable.idempotence", "true");

        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(props)) {

            for (int i = 0; i < 10; i++) {
                ProducerRecord<String, String> record =
                    new ProducerRecord<>(
                        topic,               // topic
                        "order-" + i,       // key
                        "{\"id\":" + i + "}" // value
                    );
                producer.send(record);
            }
        }
    }
}
