"""Splink models per entity type; each trained model is a JSON file beside its module."""
