package com.example.config;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import lombok.extern.slf4j.Slf4j;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.util.backoff.FixedBackOff;

/**
 * Blocking retries, then the dead-letter topic: a record whose listener throws is retried in place
 * (the container seeks back to it) app.kafka.retry.attempts times, app.kafka.retry.interval-ms apart,
 * then DeadLetterPublishingRecoverer publishes it to "&lt;topic&gt;.DLT" (the guide's name; spring-kafka
 * 3.3 would default to "&lt;topic&gt;-dlt"), same partition, with the
 * kafka_dlt-original-* and kafka_dlt-exception-* headers, and the container commits its offset.
 *
 * <p>Blocking retries keep the per-user order the key gives: nothing behind the failed record in its
 * partition is processed before it is retried or dead-lettered. Spring Boot hands this bean to the
 * listener container factory it configures.
 */
@Configuration
@Slf4j
public class KafkaErrorHandlingConfig {

    @Bean
    public DefaultErrorHandler errorHandler(
        KafkaTemplate<Object, Object> kafkaTemplate,
        ProducerFactory<Object, Object> producerFactory,
        @Value("${app.kafka.retry.attempts}") long attempts,
        @Value("${app.kafka.retry.interval-ms}") long intervalMs
    ) {
        // The raw bytes of a record that could not be deserialized go out unchanged (the JSON template
        // would write them as a base64 string); everything else through the application's template.
        Map<String, Object> rawConfig = new HashMap<>(producerFactory.getConfigurationProperties());
        rawConfig.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        KafkaTemplate<Object, Object> rawTemplate = new KafkaTemplate<>(new DefaultKafkaProducerFactory<>(rawConfig));
        Map<Class<?>, KafkaOperations<? extends Object, ? extends Object>> templates = new LinkedHashMap<>();
        templates.put(byte[].class, rawTemplate);
        templates.put(Object.class, kafkaTemplate);
        // "<topic>.DLT", same partition, as the guide says; spring-kafka 3.3's default is "<topic>-dlt".
        DeadLetterPublishingRecoverer recoverer = new DeadLetterPublishingRecoverer(templates,
            (record, ex) -> new TopicPartition(record.topic() + ".DLT", record.partition()));
        DefaultErrorHandler handler = new DefaultErrorHandler(recoverer, new FixedBackOff(intervalMs, attempts));
        handler.setRetryListeners((record, ex, deliveryAttempt) ->
            log.info("Retrying {}-{}@{}: attempt {} failed",
                record.topic(), record.partition(), record.offset(), deliveryAttempt));
        return handler;
    }
}
