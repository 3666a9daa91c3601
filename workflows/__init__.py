"""Deterministic workflow code and the pure incident domain model (`workflows.domain`)."""
