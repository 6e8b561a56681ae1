"""Server-rendered web pages (issue: web foundation)."""
