"""Zone 2: the only egress. Query specs, policies, disclosure control, differential privacy,
the budget ledger and the audit chain. Nothing but aggregates leaves through here."""

__all__: list[str] = []
