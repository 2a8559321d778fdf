"""GDPR: everything held on a person, as JSON (export), and erasure that keeps the reports adding up
and never lets the person's data back in (ADR 0027)."""
