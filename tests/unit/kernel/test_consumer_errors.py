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
    # Pinned values (CRC-32 of the key's UTF-8 bytes, modulo the partition count): a change of hash would move
    # every key of the in-process bus's existing logs to another partition and break per-case ordering.
    assert partition_for("case-42", 6) == 3
    assert partition_for("R20261123000001", 6) == 3
    assert partition_for("R20261123000001", 7) == 2606452797 % 7
    assert {partition_for(f"case-{i}", 6) for i in range(200)} == set(range(6))
