"""SMS delivery: the outbox table, gateways and the relay that connects them."""
