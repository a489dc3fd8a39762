"""Shortages, damaged goods, partial refunds and after-sales requests (售后)."""
