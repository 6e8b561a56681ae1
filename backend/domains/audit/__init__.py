"""The tenant audit log: who changed which record, when, which fields from → to."""
