"""Tenants, user accounts, API keys and authentication."""
