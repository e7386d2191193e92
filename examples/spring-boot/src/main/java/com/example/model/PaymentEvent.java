package com.example.model;

import java.math.BigDecimal;
import lombok.AllArgsConstructor;
import lombok.Builder;
import lombok.Data;
import lombok.NoArgsConstructor;

/** The value of a record on the payment-events topic: one per order whose payment was initiated. */
@Data
@Builder
@NoArgsConstructor
@AllArgsConstructor
public class PaymentEvent {
    private String orderId;
    private String userId;
    private BigDecimal amount;
    private String status;
}
