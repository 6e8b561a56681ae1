"""Telegram bot and inbound mail adapters (later issues)."""
