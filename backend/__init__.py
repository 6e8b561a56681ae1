"""Tandem backend: the application core and the JSON API."""
