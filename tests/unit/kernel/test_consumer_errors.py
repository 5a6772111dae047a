"""Which failures a consumer waits out (infrastructure) and which count toward the dead-letter topic."""

from __future__ import annotations

import sqlalchemy.exc

from shared.bus.base import partition_for
from shared.bus.consumer import is_transient


class _Pg(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_connection_and_restart_errors_are_transient() -> None:
    assert is_transient(ConnectionRefusedError(111, "refused"))
    assert is_transient(sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed")))
    assert is_transient(_Pg("57P03"))  # the database system is starting up
    assert is_transient(_Pg("40001"))  # serialization failure


def test_a_wrapped_infrastructure_error_is_found_in_the_chain() -> None:
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise RuntimeError("handler failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def test_bugs_and_bad_data_are_not_transient() -> None:
    assert not is_transient(ValueError("bad body"))
    assert not is_transient(_Pg("23505"))  # unique violation
    assert not is_transient(KeyError("missing"))


def test_partitioning_is_stable_per_key() -> None:
    assert partition_for("case-42", 6) == partition_for("case-42", 6)
    assert {partition_for(f"case-{i}", 6) for i in range(200)} == set(range(6))
