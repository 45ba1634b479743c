"""One module per rule. Register new rules in `rules/catalogue.py`."""
