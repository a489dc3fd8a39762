"""The audit log: an append-only, hash-chained record, per tenant, of what operators, leaders,
suppliers, API keys and the platform did (service/schema/access.py records every state-changing
mutation they make; `groupbuy audit verify` checks a tenant's chain)."""
