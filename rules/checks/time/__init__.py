"""RG1xx: naive datetimes, wrong clocks, and the current time read at the wrong moment."""
