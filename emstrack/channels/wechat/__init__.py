"""The WeChat Official Account bot: the callbacks' protocol and AES envelopes, the replay guard,
what the bot answers, and the API client and sender for customer-service messages
(docs/standards/channels.md §1)."""
