"""Entity resolution: standardize canonical fields, compare them CJK-aware, link records with Splink per
entity type, then cluster, assign stable golden IDs and survive golden records.

``entity_resolution.standardize`` (pure functions and their column forms) and
``entity_resolution.comparisons`` (Splink comparisons) are imported explicitly by their users; this package
imports nothing itself, so ``import entity_resolution`` stays free of pyarrow, pandas and Splink.
"""
