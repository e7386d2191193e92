import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The Java AdminClient's describe/list/alter calls, one after another, each printing what a user would look
 * at, in a form that does not depend on the broker (no ids, hosts or ports), so the output from Kavka and
 * from Apache Kafka can be compared line by line.
 *
 * <p>Usage: {@code AdminTour <bootstrap> <topic> <group> <scratch topic>}. Expects {@code topic} with 3
 * partitions holding records, {@code group} with committed offsets on it (no members), and {@code scratch
 * topic}, which it deletes. Leaves {@code topic} with 4 partitions, retention.ms=3600000, records before
 * offset 3 of partition 0 deleted, and the group's offset for partition 0 at 1.
 */
public class AdminTour {
    @SuppressWarnings("removal") // listConsumerGroups, ConsumerGroupListing: see below
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        String topic = args[1];
        String group = args[2];
        String scratch = args[3];
        TopicPartition p0 = new TopicPartition(topic, 0);

        try (AdminClient admin = AdminClient.create(props)) {
            Set<String> names = admin.listTopics().names().get();
            say("listTopics: has topic=%s has scratch=%s", names.contains(topic), names.contains(scratch));

            describeTopic(admin, topic);

            DescribeClusterResult cluster = admin.describeCluster();
            say("describeCluster: nodes=%d controller=%s clusterId=%s",
                cluster.nodes().get().size(), cluster.controller().get() != null, cluster.clusterId().get() != null);
            String nodeId = cluster.nodes().get().iterator().next().idString();

            ConfigResource topicResource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            ConfigResource brokerResource = new ConfigResource(ConfigResource.Type.BROKER, nodeId);
            printConfigs(admin, topicResource,
                List.of("cleanup.policy", "retention.ms", "segment.bytes", "min.insync.replicas", "max.message.bytes"));
            printConfigs(admin, brokerResource,
                List.of("log.retention.hours", "auto.create.topics.enable", "message.max.bytes", "num.partitions"));

            admin.incrementalAlterConfigs(Map.of(topicResource, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET)))).all().get();
            printConfigs(admin, topicResource, List.of("retention.ms"));
            attempt("incrementalAlterConfigs retention.ms=abc", admin.incrementalAlterConfigs(Map.of(topicResource,
                List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "abc"), AlterConfigOp.OpType.SET)))).all());

            // listConsumerGroups is deprecated for removal in kafka-clients 4.x (listGroups replaces it) but
            // is the call users know; both are here.
            for (GroupListing listing : admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get()) {
                if (listing.groupId().equals(group)) {
                    say("listGroups(forConsumerGroups): %s state=%s type=%s protocol=%s", group,
                        listing.groupState().orElse(null), listing.type().orElse(null), listing.protocol());
                }
            }
            for (ConsumerGroupListing listing : admin.listConsumerGroups().all().get()) {
                if (listing.groupId().equals(group)) {
                    say("listConsumerGroups: %s state=%s type=%s simple=%s", group,
                        listing.groupState().orElse(null), listing.type().orElse(null), listing.isSimpleConsumerGroup());
                }
            }
            ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            say("describeConsumerGroups: state=%s type=%s members=%d assignor=%s simple=%s coordinator=%s",
                description.groupState(), description.type(), description.members().size(),
                description.partitionAssignor(), description.isSimpleConsumerGroup(), description.coordinator() != null);

            printOffsets(admin, group);
            admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(1))).all().get();
            printOffsets(admin, group);

            long low = admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(3)))
                .lowWatermarks().get(p0).get().lowWatermark();
            say("deleteRecords: %s low watermark=%d", p0.partition(), low);
            attempt("deleteRecords beyond the end", admin.deleteRecords(
                Map.of(p0, RecordsToDelete.beforeOffset(1_000_000))).all());

            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
            describeTopic(admin, topic);
            attempt("createPartitions increaseTo(2)",
                admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all());

            admin.deleteTopics(List.of(scratch)).all().get();
            // Deletion reaches the metadata the broker serves shortly after the call returns (on Kafka too).
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            boolean gone = false;
            while (!gone && System.nanoTime() < deadline) {
                gone = !admin.listTopics().names().get().contains(scratch);
            }
            say("deleteTopics: scratch gone=%s", gone);
            attempt("deleteTopics again", admin.deleteTopics(List.of(scratch)).all());
        }
    }

    private static void describeTopic(AdminClient admin, String topic) throws Exception {
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        say("describeTopics: internal=%s partitions=%d topicId=%s", d.isInternal(), d.partitions().size(),
            d.topicId() != null);
        for (TopicPartitionInfo p : d.partitions()) {
            say("  partition %d leader=%s replicas=%d isr=%d", p.partition(), p.leader() != null,
                p.replicas().size(), p.isr().size());
        }
    }

    private static void printConfigs(AdminClient admin, ConfigResource resource, List<String> wanted)
            throws Exception {
        Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        for (String name : wanted) {
            ConfigEntry e = config.get(name);
            if (e == null) {
                say("describeConfigs %s %s: missing", resource.type(), name);
                continue;
            }
            say("describeConfigs %s %s=%s source=%s readOnly=%s sensitive=%s", resource.type(), name, e.value(),
                e.source(), e.isReadOnly(), e.isSensitive());
        }
    }

    private static void printOffsets(AdminClient admin, String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        Map<Integer, Long> sorted = new TreeMap<>();
        offsets.forEach((tp, om) -> sorted.put(tp.partition(), om.offset()));
        say("listConsumerGroupOffsets: %s", sorted);
    }

    private static void attempt(String what, KafkaFuture<?> future) throws InterruptedException {
        try {
            future.get();
            say("%s: ok", what);
        } catch (ExecutionException e) {
            say("%s: %s: %s", what, e.getCause().getClass().getSimpleName(), e.getCause().getMessage());
        }
    }

    private static void say(String format, Object... args) {
        System.out.println(String.format(format, args));
    }
}
