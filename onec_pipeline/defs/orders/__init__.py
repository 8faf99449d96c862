"""Orders: 1C's order updates per upload, and site orders to the outbox for 1C."""
