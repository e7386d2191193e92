// Prints Kafka's broker config definitions, one tab-separated line per key:
//   name, type, validator (its "Valid Values" text, or "-"), importance, internal?, update mode,
//   listener-only? (a security config dynamic only with a listener prefix), synonyms
// then one line per topic config with broker synonyms: "#topic-synonyms", topic config, broker
// config*factor for each synonym, highest priority first (Kafka's ServerTopicConfigSynonyms).
// Run on Kafka's class path by tools/gen_broker_catalogue.py (java's single-file source launcher).
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.server.config.AbstractKafkaConfig;
import org.apache.kafka.server.config.DynamicBrokerConfig;
import org.apache.kafka.server.config.ServerTopicConfigSynonyms;

public class KafkaBrokerConfigDump {
    public static void main(String[] args) {
        Map<String, String> modes = DynamicBrokerConfig.dynamicConfigUpdateModes();
        for (ConfigDef.ConfigKey key : AbstractKafkaConfig.CONFIG_DEF.configKeys().values()) {
            String validator = key.validator == null ? "-" : key.validator.toString().replace('\t', ' ').replace('\n', ' ');
            List<String> synonyms = DynamicBrokerConfig.brokerConfigSynonyms(key.name, false);
            System.out.println(String.join("\t", key.name, key.type.name(), validator, key.importance.name(),
                String.valueOf(key.internalConfig), modes.getOrDefault(key.name, "read-only"),
                String.valueOf(DynamicBrokerConfig.DYNAMIC_SECURITY_CONFIGS.contains(key.name)),
                String.join(",", synonyms)));
        }
        ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS.forEach((topic, list) -> {
            StringBuilder line = new StringBuilder("#topic-synonyms\t" + topic);
            for (var synonym : list) line.append("\t").append(synonym.name()).append("*").append(synonym.converter().apply("1"));
            System.out.println(line);
        });
    }
}
