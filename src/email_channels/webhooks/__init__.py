"""Webhooks after Svix's model: subscriptions, the event outbox, deliveries."""
