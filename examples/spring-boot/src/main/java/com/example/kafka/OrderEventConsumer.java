package com.example.kafka;

import com.example.model.OrderEvent;
import com.example.service.PaymentService;
import io.micrometer.core.instrument.MeterRegistry;
import lombok.RequiredArgsConstructor;
import lombok.extern.slf4j.Slf4j;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.support.Acknowledgment;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.handler.annotation.Header;
import org.springframework.messaging.handler.annotation.Payload;
import org.springframework.stereotype.Component;

/**
 * The guide's OrderEventConsumer: three listener threads (one per partition), a commit per record only
 * once its payment is initiated (ack-mode MANUAL_IMMEDIATE).
 *
 * <p>One change from the guide: on failure the exception is rethrown instead of swallowed. A swallowed
 * exception returns normally, the container moves on to the next record, and the next ack commits past
 * the failed one, so it would never be retried. Rethrown, it reaches the DefaultErrorHandler
 * (KafkaErrorHandlingConfig), which seeks back to retry it and, after the retries, publishes it to
 * orders.DLT and commits its offset.
 */
@Component
@Slf4j
@RequiredArgsConstructor
public class OrderEventConsumer {

    private final PaymentService paymentService;
    private final MeterRegistry meterRegistry;

    @KafkaListener(
        topics = "${app.kafka.topic.orders}",
        groupId = "${spring.kafka.consumer.group-id}",
        concurrency = "3"  // 3 threads = 3 partitions
    )
    public void handleOrderEvent(
        @Payload OrderEvent event,
        @Header(KafkaHeaders.RECEIVED_PARTITION) int partition,
        @Header(KafkaHeaders.OFFSET) long offset,
        Acknowledgment ack
    ) {
        log.info("Processing order {} from P:{} O:{}",
            event.getOrderId(), partition, offset);
        try {
            paymentService.initiatePayment(event);
            ack.acknowledge(); // commit only on success
            meterRegistry.counter("kafka.orders.processed").increment();
        } catch (RuntimeException e) {
            log.error("Failed processing order {}: {}",
                event.getOrderId(), e.getMessage());
            // Don't ack: the error handler retries, then routes the record to orders.DLT
            throw e;
        }
    }
}
