"""Notification channels (one module per provider) and the `notify.send` activity.

Read in this order: `base` (the Channel contract and errors), one channel (`webhook` is the
shortest), `guards` (circuit breaker and per-person rate gate), `ledger` (delivery log),
`activity` (the entry point the workflow calls), `registry` (wiring from settings).
"""
