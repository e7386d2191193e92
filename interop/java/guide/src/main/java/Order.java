/**
 * The domain object the guide's JsonSerializer writes ({@code order.getId()} is all the guide shows of it).
 * Jackson serializes it through its getters: {"id":..., "region":..., "amount":...}.
 */
public class Order {
    private final String id;
    private final String region;
    private final long amount;

    public Order(String id, String region, long amount) {
        this.id = id;
        this.region = region;
        this.amount = amount;
    }

    public String getId() {
        return id;
    }

    public String getRegion() {
        return region;
    }

    public long getAmount() {
        return amount;
    }
}
