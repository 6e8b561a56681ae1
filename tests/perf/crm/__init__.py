"""CRM benchmark at the issue's volumes (`make bench-crm`): a tenant seeded with `tandem seed --size large`, then
search, account card with timeline, segment count and funnel measured over real HTTP against uvicorn."""
