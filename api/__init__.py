"""Ingress only: validate, store, hand the decision to a workflow, answer."""
