"""The Telegram bot: the Bot API's protocol points, its client, the webhook's and polling's
handler, and the notices' sender (docs/standards/channels.md §2)."""
