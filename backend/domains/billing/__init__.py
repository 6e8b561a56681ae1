"""Plans and, later, Stripe customers, subscriptions and limits."""
