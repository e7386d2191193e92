import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * The guide's "Creating a topic programmatically in Java" (Core Concepts, Topic).
 *
 * <p>Usage: {@code CreateTopic <bootstrap> <topic> [replication factor, default 1]}. Prints
 * {@code created <topic> partitions=3}, or {@code failed: <exception class>: <message>} and exits 1.
 */
public class CreateTopic {
    public static void main(String[] args) throws Exception {
        // Changed: wrapped in a class and main; the guide's `props` are not shown, so they hold only
        // bootstrap.servers, taken (like the topic name) from the arguments instead of "localhost:9092".
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        String name = args[1];
        // Changed: the guide's replication factor of 2 needs two brokers; a one-node test cluster takes 1
        // (passing 2 shows the error both brokers give).
        short replicationFactor = args.length > 2 ? Short.parseShort(args[2]) : 1;

        // Changed: try-with-resources, so the client is closed and the program exits.
        try (AdminClient admin = AdminClient.create(props)) {
            NewTopic topic = new NewTopic(
                name,       // topic name
                3,          // partitions
                replicationFactor   // replication factor
            );
            // Changed: .all().get() waits for the broker's answer (the guide drops the returned future).
            try {
                admin.createTopics(List.of(topic)).all().get();
            } catch (java.util.concurrent.ExecutionException e) {
                System.out.println("failed: " + e.getCause().getClass().getName() + ": " + e.getCause().getMessage());
                System.exit(1);
            }
            System.out.println("created " + name + " partitions=3");
        }
    }
}
