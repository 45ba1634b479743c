"""Alembic's environment for the bot's state: always run through `bot.store.migrate`, which
hands over the connection (holding the migration lock) in `config.attributes`."""

from __future__ import annotations

from alembic import context


def run() -> None:
    context.configure(
        connection=context.config.attributes["connection"],
        # The models (`bot.store.db.Base.metadata`), which `revision --autogenerate` compares with.
        target_metadata=context.config.attributes["metadata"],
        # SQLite alters a table by copying it: batch mode does that for `op.batch_alter_table`.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic runs this file; importing it elsewhere (a check that imports every module) does nothing.
if hasattr(context, "config"):
    run()
