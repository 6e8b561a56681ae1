"""Engines, declarative bases and the UnitOfWork."""
