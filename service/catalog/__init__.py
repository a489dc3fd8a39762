"""Suppliers and their products."""
