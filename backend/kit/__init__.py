"""Small shared building blocks: errors, ids, clock, secrets."""
