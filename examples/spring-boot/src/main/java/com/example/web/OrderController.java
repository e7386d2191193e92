package com.example.web;

import com.example.model.Order;
import com.example.service.OrderProducerService;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import lombok.RequiredArgsConstructor;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * POST /orders {"id": "o-1", "userId": "alice", "amount": 12.5} publishes the order and answers, once
 * the broker has it (acks=all), {"orderId": "o-1", "partition": 2, "offset": 7}.
 */
@RestController
@RequiredArgsConstructor
public class OrderController {

    private final OrderProducerService orderProducerService;

    @PostMapping("/orders")
    public Map<String, Object> create(@RequestBody Order order) throws Exception {
        RecordMetadata sent = orderProducerService.publishOrderCreated(order)
            .get(30, TimeUnit.SECONDS)
            .getRecordMetadata();
        return Map.of("orderId", order.getId(), "partition", sent.partition(), "offset", sent.offset());
    }
}
