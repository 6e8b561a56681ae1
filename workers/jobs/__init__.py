"""Thin jobs: one scope, one service call."""
