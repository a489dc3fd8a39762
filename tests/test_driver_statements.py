"""`execute_prepared`: the lean path of the hottest statement (orderPlace's) on a driver connection."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from service.db import execute_prepared


def _run(url: str, fn):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await fn(conn)

    return asyncio.run(main())


def test_rows_names_nulls_and_one_prepare_per_connection(app_db_url):  # type: ignore[no-untyped-def]
    sql = b"SELECT CAST($1 AS int) + 1 AS n, CAST($2 AS uuid[]) AS ids, CAST($3 AS text) AS nothing"

    async def go(conn):  # type: ignore[no-untyped-def]
        got = [await execute_prepared(conn, b"t_rows", sql, [str(i), "{00000000-0000-4000-8000-000000000001}", None])
               for i in range(3)]
        prepared = (await (await conn.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = 't_rows'")).fetchone())[0]
        empty = await execute_prepared(conn, b"t_empty", b"SELECT 1 AS one WHERE CAST($1 AS boolean)", ["f"])
        return got, prepared, empty

    got, prepared, empty = _run(app_db_url, go)
    assert [row[0] for _, row in got] == [1, 2, 3]
    names, row = got[0]
    assert names == ["n", "ids", "nothing"]
    assert str(row[1][0]) == "00000000-0000-4000-8000-000000000001" and row[2] is None
    assert prepared == 1
    assert empty == (["one"], None)


def test_errors_are_psycopgs_and_leave_the_connection_usable(app_db_url):  # type: ignore[no-untyped-def]
    async def go(conn):  # type: ignore[no-untyped-def]
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as caught:
            await execute_prepared(conn, b"t_cast", b"SELECT CAST($1 AS int) AS n", ["x"])
        assert caught.value.sqlstate == "22P02" and caught.value.diag.message_primary
        assert conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        again = await execute_prepared(conn, b"t_cast", b"SELECT CAST($1 AS int) AS n", ["7"])
        with pytest.raises(psycopg.errors.SyntaxError):  # a statement that does not prepare
            await execute_prepared(conn, b"t_bad", b"SELEC 1", [])
        after = await execute_prepared(conn, b"t_good", b"SELECT 2 AS n", [])
        return again, after

    again, after = _run(app_db_url, go)
    assert again == (["n"], (7,)) and after == (["n"], (2,))


def test_later_calls_load_like_the_first_and_the_connection_can_go(app_db_url):  # type: ignore[no-untyped-def]
    import datetime as dt
    import gc
    import weakref
    from decimal import Decimal

    sql = (b"SELECT CAST($1 AS timestamptz) AS at, CAST($2 AS numeric) AS rate, CAST($3 AS int[]) AS q, "
           b"CAST($4 AS text) AS note")
    calls = [["2026-11-22 10:00:00+00", "0.1", "{1,2}", "a"], [None, "2.50", "{}", None],
             ["2026-11-23 23:59:59.5+08", "-1", "{7}", "π"]]

    async def main():  # type: ignore[no-untyped-def]
        conn = await psycopg.AsyncConnection.connect(app_db_url, autocommit=True)
        await conn.execute("SET TIME ZONE 'Asia/Shanghai'")
        got = [await execute_prepared(conn, b"t_shapes", sql, params) for params in calls]
        cursor = await conn.execute(sql.decode().replace("$1", "%s").replace("$2", "%s").replace("$3", "%s")
                                    .replace("$4", "%s"), calls[2])
        by_cursor = await cursor.fetchone()
        await conn.close()
        return got, by_cursor, weakref.ref(conn)

    got, by_cursor, gone = asyncio.run(main())
    assert [names for names, _ in got] == [["at", "rate", "q", "note"]] * 3
    rows = [row for _, row in got]
    assert rows[0][1] == Decimal("0.1") and rows[0][2] == [1, 2] and rows[0][3] == "a"
    assert rows[1] == (None, Decimal("2.50"), [], None)
    assert rows[2] == tuple(by_cursor)  # what psycopg's own cursor loads, time zone included
    assert rows[2][0].utcoffset() == dt.timedelta(hours=8)
    gc.collect()
    assert gone() is None  # the statements it prepared go with it
