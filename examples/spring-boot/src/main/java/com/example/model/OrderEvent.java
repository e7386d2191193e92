package com.example.model;

import java.math.BigDecimal;
import java.time.Instant;
import lombok.AllArgsConstructor;
import lombok.Builder;
import lombok.Data;
import lombok.NoArgsConstructor;

/**
 * The value of a record on the orders topic, written by spring-kafka's JsonSerializer (which also adds
 * the __TypeId__ header naming this class) and read back by its JsonDeserializer: that is why this
 * class lives in com.example.model, the package application.yml trusts.
 */
@Data
@Builder
@NoArgsConstructor
@AllArgsConstructor
public class OrderEvent {
    private String orderId;
    private String userId;
    private BigDecimal amount;
    private String status;
    private Instant timestamp;
}
