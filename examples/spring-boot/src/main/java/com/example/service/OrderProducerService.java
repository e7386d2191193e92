package com.example.service;

import com.example.model.Order;
import com.example.model.OrderEvent;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import lombok.RequiredArgsConstructor;
import lombok.extern.slf4j.Slf4j;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;
import org.springframework.stereotype.Service;

/** Publishes an OrderEvent per order, keyed by user id (the guide's OrderProducerService). */
@Service
@Slf4j
@RequiredArgsConstructor
public class OrderProducerService {

    private final KafkaTemplate<String, OrderEvent> kafkaTemplate;

    @Value("${app.kafka.topic.orders}")
    private String ordersTopic;

    public CompletableFuture<SendResult<String, OrderEvent>>
    publishOrderCreated(Order order) {

        OrderEvent event = OrderEvent.builder()
            .orderId(order.getId())
            .userId(order.getUserId())
            .amount(order.getAmount())
            .status("CREATED")
            .timestamp(Instant.now())
            .build();

        // Key = userId ensures ordering per user
        return kafkaTemplate
            .send(ordersTopic, order.getUserId(), event)
            .whenComplete((result, ex) -> {
                if (ex != null) {
                    log.error("Failed to publish order {}: {}",
                        order.getId(), ex.getMessage());
                } else {
                    log.info("Order {} sent to P:{} O:{}",
                        order.getId(),
                        result.getRecordMetadata().partition(),
                        result.getRecordMetadata().offset());
                }
            });
    }
}
