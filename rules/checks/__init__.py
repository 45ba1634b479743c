"""The rules, one module per rule in a folder per family: `time/` (RG1xx), `storage/` (RG2xx).

A rule is registered by being a `Rule` subclass in a module here; `rules/catalogue.py` finds it.
"""
