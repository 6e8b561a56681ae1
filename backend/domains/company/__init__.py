"""The tenant's own company settings (name, currency, fiscal year, locale)."""
