import java.util.Map;

import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.common.Cluster;

// The guide's custom partitioner: US -> partition 0, EU -> 1, anything else -> 2.
public class RegionPartitioner
    implements Partitioner {
  @Override
  public int partition(String topic, Object key,
      byte[] keyBytes, Object value,
      byte[] valueBytes, Cluster cluster) {
    String region = key.toString();
    return switch (region) {
      case "US" -> 0;
      case "EU" -> 1;
      default -> 2;
    };
  }

  // Changed: added. Partitioner's close() and configure() (from Configurable) are abstract, so the
  // guide's class does not compile without them; neither has anything to do here.
  @Override
  public void close() {
  }

  @Override
  public void configure(Map<String, ?> configs) {
  }
}
