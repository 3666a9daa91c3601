"""Configuration as code: load and check `lim.yaml` with line numbers, diff, export, store.

Entry points for the `lim` CLI are in `infra.config.commands`.
"""
