"""Notifications: subscriptions, the outbox, the worker, and the webhook and e-mail senders."""
