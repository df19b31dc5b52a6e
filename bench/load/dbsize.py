"""What the run left in the bench's own database: evaluation states and footprint."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text

from bench.load.stats import summary_ms


def database_url(env: dict[str, str]) -> str:
    return env.get("DATABASE_URL") or f"sqlite:///{Path(env['DATA_DIR']) / 'memoai.db'}"


def server_side(env: dict[str, str]) -> dict[str, Any]:
    """States of every evaluation, and overhead = (queue wait + processing) - LLM time.

    Every row, not only the ids the users saw: a submit whose response timed
    out in the client still made an evaluation, and it must not get lost
    unseen. The database is the run's own, so nothing else is in it.
    """
    engine = create_engine(database_url(env))
    overheads: list[float] = []
    llm: list[float] = []
    states: dict[str, int] = defaultdict(int)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text("SELECT id, status, queue_wait, processing_time, llm_time FROM evaluations")
            )
            .mappings()
            .all()
        )
    engine.dispose()
    for row in rows:
        states[row["status"]] += 1
        if row["status"] == "completed":
            overheads.append(row["queue_wait"] + row["processing_time"] - row["llm_time"])
            llm.append(row["llm_time"])
    return {"states": dict(states), "overhead": summary_ms(overheads), "llm_time": summary_ms(llm)}


def footprint(env: dict[str, str]) -> dict[str, Any]:
    """Rows in every table and bytes on disk of the bench's database.

    SQLite: pages in use (and, beside it, the file plus its WAL). Postgres:
    pg_database_size of the bench's own database, and per table
    pg_total_relation_size (heap, indexes, TOAST).
    """
    url = database_url(env)
    engine = create_engine(url)
    rows: dict[str, int] = {}
    table_bytes: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            for name in names:
                # Names come from the database's own catalogue, quoted anyway.
                quoted = conn.dialect.identifier_preparer.quote(name)
                rows[name] = int(conn.execute(text(f"SELECT count(*) FROM {quoted}")).scalar_one())  # noqa: S608
            if engine.dialect.name == "postgresql":
                total = int(
                    conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
                )
                for name in names:
                    table_bytes[name] = int(
                        conn.execute(
                            text("SELECT pg_total_relation_size(CAST(:t AS regclass))"),
                            {"t": conn.dialect.identifier_preparer.quote(name)},
                        ).scalar_one()
                    )
                disk = total
            else:
                # Pages in use as this connection sees them (the WAL's commits
                # included): what the data takes. The files on disk only grow
                # and the WAL is recycled, so they are reported beside it.
                page = conn.execute(text("PRAGMA page_size")).scalar_one()
                used = conn.execute(text("PRAGMA page_count")).scalar_one()
                free = conn.execute(text("PRAGMA freelist_count")).scalar_one()
                total = int((used - free) * page)
                path = Path(url.removeprefix("sqlite:///"))
                wal = path.with_name(path.name + "-wal")
                disk = sum(p.stat().st_size for p in (path, wal) if p.exists())
    finally:
        engine.dispose()
    return {"bytes": total, "disk_bytes": disk, "rows": rows, "table_bytes": table_bytes}


def growth(before: dict[str, Any], after: dict[str, Any], evaluations: int) -> dict[str, Any]:
    """Rows and bytes added, and per 1,000 evaluations submitted."""
    rows = {t: after["rows"].get(t, 0) - before["rows"].get(t, 0) for t in after["rows"]}
    rows = {t: n for t, n in sorted(rows.items()) if n}
    table_bytes = {
        t: after["table_bytes"][t] - before["table_bytes"].get(t, 0)
        for t in after["table_bytes"]
        if after["table_bytes"][t] != before["table_bytes"].get(t, 0)
    }
    added_bytes = after["bytes"] - before["bytes"]
    k = 1000 / evaluations if evaluations else None
    return {
        "evaluations": evaluations,
        "rows_added": rows,
        "table_bytes_added": table_bytes,
        "bytes_before": before["bytes"],
        "bytes_after": after["bytes"],
        "bytes_added": added_bytes,
        "disk_bytes_after": after["disk_bytes"],
        "rows_per_1000": None if k is None else round(sum(rows.values()) * k),
        "mb_per_1000": None if k is None else round(added_bytes * k / 2**20, 3),
    }
