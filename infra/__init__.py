"""Plumbing and deployment: settings, database, Temporal client, telemetry. No business rules."""
