"""Validation rules as data (field path, check, message) and the rule sets the servicers use."""
