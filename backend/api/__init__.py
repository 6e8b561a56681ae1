"""Litestar controllers (thin): parse → one service call → DTO."""
