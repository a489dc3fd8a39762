"""Coupons: templates with budgets that cannot be overspent, claims, grants and redemption."""
