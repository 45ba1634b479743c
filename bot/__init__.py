"""The GitHub side of Reviewgate: webhooks, jobs, gate policy, commands, reporting, storage."""
