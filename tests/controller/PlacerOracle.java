// Kafka's own StripedReplicaPlacer (from the pinned jars) on the clusters given as arguments, for
// tests/controller/test_placement.py. Each argument: "seed;partitions;rf;id:rack:fenced,id:rack:fenced,..."
// (an empty rack means none; fenced is 0 or 1). Prints one line per argument: the partitions' replica
// lists, "1,2 2,3 ...", or "error: <message>" when Kafka refuses the placement.
import java.util.*;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.metadata.placement.*;

public class PlacerOracle {
    public static void main(String[] args) {
        for (String arg : args) {
            String[] parts = arg.split(";", -1);
            long seed = Long.parseLong(parts[0]);
            int partitions = Integer.parseInt(parts[1]);
            short rf = Short.parseShort(parts[2]);
            List<UsableBroker> brokers = new ArrayList<>();
            for (String b : parts[3].split(",")) {
                String[] f = b.split(":", -1);
                Optional<String> rack = f[1].isEmpty() ? Optional.empty() : Optional.of(f[1]);
                brokers.add(new UsableBroker(Integer.parseInt(f[0]), rack, f[2].equals("1")));
            }
            ClusterDescriber cluster = new ClusterDescriber() {
                public Iterator<UsableBroker> usableBrokers() { return brokers.iterator(); }
                public Uuid defaultDir(int id) { return Uuid.ZERO_UUID; }
            };
            try {
                TopicAssignment t = new StripedReplicaPlacer(new Random(seed))
                    .place(new PlacementSpec(0, partitions, rf), cluster);
                StringJoiner out = new StringJoiner(" ");
                for (PartitionAssignment p : t.assignments()) {
                    StringJoiner r = new StringJoiner(",");
                    for (int id : p.replicas()) r.add(Integer.toString(id));
                    out.add(r.toString());
                }
                System.out.println(out);
            } catch (Exception e) {
                System.out.println("error: " + e.getMessage());
            }
        }
    }
}
