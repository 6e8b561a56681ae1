"""CRM: accounts and their legal entities, contacts (and later deals, interactions, tasks, …)."""
