package com.example.service;

/** The payment of an order was refused; the order goes to the dead-letter topic after its retries. */
public class PaymentDeclinedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public PaymentDeclinedException(String message) {
        super(message);
    }
}
