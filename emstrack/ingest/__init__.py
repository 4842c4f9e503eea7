"""Ingest: validate incoming scan events, de-duplicate them, record them, report rejects."""
