"""Validators for Chinese identifiers, as plain functions (GE expectations wrap them)."""
