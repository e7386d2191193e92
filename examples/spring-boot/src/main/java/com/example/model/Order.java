package com.example.model;

import java.math.BigDecimal;
import lombok.AllArgsConstructor;
import lombok.Data;
import lombok.NoArgsConstructor;

/** An order as the REST endpoint receives it: {"id": "...", "userId": "...", "amount": 12.50}. */
@Data
@NoArgsConstructor
@AllArgsConstructor
public class Order {
    private String id;
    private String userId;
    private BigDecimal amount;
}
