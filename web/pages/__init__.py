"""Page controllers: parse the form → one service call → template or redirect."""
