"""The bot's state in SQL: the tables, the delivery log and the per-PR sequence counters.

The bottom layer: it imports nothing else of the bot's.
"""
