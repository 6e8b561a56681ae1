"""Bounded contexts. Framework-free and tenant-unaware."""
