"""Chat channels: WeChat Official Account and Telegram bots — protocol in, tracking reply out."""
