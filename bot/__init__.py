"""The GitHub side of Reviewgate: webhooks in, jobs on a queue, the gate's policy, GitHub out,
a store underneath.

A delivery travels one way::

    web/     POST /webhook: verify the signature, read the event (events.py), record it
             (store), queue a job (Runtime.queue), answer 202
             and the pages people look at (pages.py: the gate page, /status, the audit
             export; signin.py: GitHub's OAuth sign-in, sessions, CSRF, who may see what)
    jobs/    the queue's tasks: evaluate a pull request (evaluate.py: take -> assess ->
             publish -> release), apply `/gate` commands (commands.py), check a merge
             group (merge_group.py), the reconciler's periodic pass (reconcile.py), the
             gate page's record of each verdict (record.py);
             queue.py builds the queue and registers them all
    policy/  pure: the facts of a pull request in, a verdict that says why out (decide.py),
             commands parsed and authorised, the repository's configuration read
    github/  PyGithub: the App's client, the reads an evaluation needs (gather.py), every
             write (publish.py, suggestions.py)
    store/   SQL: the tables, the delivery log, the per-PR counters of owed evaluations

and beside them: settings.py, metrics.py, runtime.py (the process's database, GitHub App,
analysis workers and queue handle, built by the entry points), render.py (all escaping of
user text) and report.py (the check run's and sticky comment's Markdown), analysis.py and
isolation.py (the bridge to the rule engine in rules/, whose diff.py numbers lines as git does). Entry points: app.py
(`create_app()`, `python app.py`) and worker.py (`python -m bot.worker`).

Layer rules (tests/test_structure.py checks them):

- web imports store, policy (command parsing), render/report, and the queue handle on the
  runtime; never jobs or github.
- jobs import github, policy, store, render/report, analysis and the runtime.
- github imports store, render/report, policy (its fact types and the configuration parser)
  and analysis.
- policy imports render and rules only: pure, no I/O, no clock.
- store imports nothing of the bot's above it.
- No module imports upward, and nothing imports jobs/queue.py but app.py and bot/worker.py:
  producers of work call `rt.queue.enqueue_evaluation(...)` / `rt.queue.enqueue_gate_job(key)`
  through the `JobQueue` protocol of runtime.py.
- Nothing is built at import: settings, the runtime and the queue are built by
  `create_app()`, `app.main()`, `bot.worker.main()` or a test.
"""
