"""`python -m bot.migrate`: bring the state database to the schema of this version, and exit.

Every process does the same at start (under a lock, so several may start at once); this
command lets an upgrade migrate first, with the old processes stopped, and see it succeed
(docs/operations.md, "Upgrading"). `python -m bot.migrate revision -m "what"` writes a new
revision file from the difference between the models and the database's schema.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alembic import command

from bot.settings import Settings
from bot.store import migrate
from bot.store.db import Base, Database, DatabaseUnavailable


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.migrate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action")
    revision = sub.add_parser("revision", help="write a new revision from the models' changes")
    revision.add_argument("-m", "--message", required=True)
    sub.add_parser("check", help="exit 1 when the database's schema differs from the models'")
    args = parser.parse_args(argv)
    settings = Settings()
    if settings.database_url is None:
        settings.prepare_data_dir()
    try:
        db = Database(settings.effective_database_url, migrate=args.action != "revision")
    except DatabaseUnavailable as exc:
        print(f"reviewgate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        if args.action == "revision":
            with db.engine.connect() as conn:
                command.upgrade(migrate.config(conn), "head")
                cfg = migrate.config(conn, Base.metadata)
                cfg.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
                command.revision(cfg, message=args.message, autogenerate=True, rev_id=f"{int(migrate.head()) + 1:04d}")
                conn.commit()
        elif args.action == "check":
            found = migrate.differences(db.engine, Base.metadata)
            for difference in found:
                print(difference)
            raise SystemExit(1 if found else 0)
        else:
            with db.engine.connect() as conn:
                print(f"reviewgate: the database is at revision {migrate.current(conn)}")
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
