"""Leader money: an append-only ledger fed by commission state changes, the freeze and its
release, withdrawals and their state machine, statements."""
