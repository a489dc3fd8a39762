"""Tenant resolution from the request, authentication, roles and row-level security."""
