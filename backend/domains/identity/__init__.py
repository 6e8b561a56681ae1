"""Users, memberships, roles, invitations, access tokens, API keys."""
