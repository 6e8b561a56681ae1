"""Outbound clients only: SMTP, and later Stripe, SMS gateways, Telegram sender."""
