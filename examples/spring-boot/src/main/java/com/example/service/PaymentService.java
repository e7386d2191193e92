package com.example.service;

import com.example.model.OrderEvent;
import com.example.model.PaymentEvent;
import java.math.BigDecimal;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import lombok.RequiredArgsConstructor;
import lombok.extern.slf4j.Slf4j;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Service;

/**
 * Starts the payment of an order by publishing a PaymentEvent to the payments topic, keyed by user id.
 *
 * <p>An order with a negative amount is declined, every time: that makes failures deterministic, so the
 * retries and the dead-letter topic can be seen (and tested). The send is awaited, so when this returns
 * the payment event is in the log (acks=all) and the caller may commit the order's offset.
 */
@Service
@Slf4j
@RequiredArgsConstructor
public class PaymentService {

    private final KafkaTemplate<String, PaymentEvent> kafkaTemplate;

    @Value("${app.kafka.topic.payments}")
    private String paymentsTopic;

    public void initiatePayment(OrderEvent order) {
        if (order.getAmount() == null || order.getAmount().compareTo(BigDecimal.ZERO) < 0) {
            throw new PaymentDeclinedException(
                "Payment declined for order " + order.getOrderId() + ": amount " + order.getAmount());
        }
        PaymentEvent payment = PaymentEvent.builder()
            .orderId(order.getOrderId())
            .userId(order.getUserId())
            .amount(order.getAmount())
            .status("PAYMENT_INITIATED")
            .build();
        try {
            kafkaTemplate.send(paymentsTopic, order.getUserId(), payment).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted publishing the payment of " + order.getOrderId(), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not publish the payment of " + order.getOrderId(), e);
        }
        log.info("Payment initiated for order {}", order.getOrderId());
    }
}
