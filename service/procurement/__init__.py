"""The batch close and what it produces: purchase orders, pick lists, commissions."""
