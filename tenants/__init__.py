"""The only package that knows tenant schemas exist."""
