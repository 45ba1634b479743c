"""GitHub, through PyGithub: the App's client, the reads an evaluation or a command needs, and
every write (check runs, the sticky comment, suggestions, reactions and replies).
"""
