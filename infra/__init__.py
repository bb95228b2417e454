"""The local development stack: Temporal dev server, RabbitMQ node and debugging mail server."""
