"""What several rules ask about the code, one module per kind of question.

- `syntax`: nodes and where the current one stands (arguments, the called name, literals,
  the methods chained on a value).
- `flow`: what the local names of a function, class or module hold; one kind of value
  followed through names and `+`/`-` (clocks, datetime conventions).
- `uses`: how a value is used: thrown away, kept in a name, examined.
- `time`: the datetime API's names, what makes a value aware, amounts of time, the names
  that announce a point in real time.
- `naive_uses`: where a naive datetime ends up (the severity of RG101, RG103-RG105).
- `conventions`: naive UTC, naive local or aware (RG102).
- `storage`: `except` clauses that catch storage failures, and the failure path after one.
- `writes`: which calls write to storage, open a file for writing, or only print.
- `units`: seconds, milliseconds and the other units of plain numbers that hold time (RG111).
- `zones`: the named time zones that switch to summer time (RG113).
"""
