"""Storage: the schema (SQLAlchemy Core), engines per dialect, migrations and queries.

The only package that imports SQLAlchemy.
"""
