// Prints Kafka's broker config definitions, one tab-separated line per key:
//   name, type, validator (its "Valid Values" text, or "-"), importance, internal?, update mode,
//   listener-only? (a security config dynamic only with a listener prefix), synonyms
// Run on Kafka's class path by tools/gen_broker_catalogue.py (java's single-file source launcher).
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.server.config.AbstractKafkaConfig;
import org.apache.kafka.server.config.DynamicBrokerConfig;

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
    }
}
