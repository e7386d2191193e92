package com.example.config;

import org.apache.kafka.clients.admin.NewTopic;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.TopicBuilder;

/**
 * The topics, created at startup by Spring Boot's KafkaAdmin (CreateTopics for those missing). The
 * dead-letter topic has as many partitions as the orders topic: DeadLetterPublishingRecoverer writes a
 * failed record to the partition it came from.
 */
@Configuration
public class KafkaTopicConfig {

    @Value("${app.kafka.topic.partitions}")
    private int partitions;

    @Value("${app.kafka.topic.replication-factor}")
    private short replicationFactor;

    @Bean
    public NewTopic ordersTopic(@Value("${app.kafka.topic.orders}") String name) {
        return TopicBuilder.name(name).partitions(partitions).replicas(replicationFactor).build();
    }

    @Bean
    public NewTopic ordersDeadLetterTopic(@Value("${app.kafka.topic.orders}") String name) {
        return TopicBuilder.name(name + ".DLT").partitions(partitions).replicas(replicationFactor).build();
    }

    @Bean
    public NewTopic paymentsTopic(@Value("${app.kafka.topic.payments}") String name) {
        return TopicBuilder.name(name).partitions(partitions).replicas(replicationFactor).build();
    }
}
