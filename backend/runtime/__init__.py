"""Embedded PostgreSQL and Redis for machines with no servers configured."""
