"""Versioned documents people edit as YAML (scoring models, routing rule sets, next sequences and
segments): one machine for drafts, what-if, activation, pages, API and CLI (ADR 0011)."""
