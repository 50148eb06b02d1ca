"""Anomaly records (R4): what could not be billed as sent, kept for the usage report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, insert, select

from .schema import Anomaly


@dataclass(frozen=True, slots=True)
class AnomalyRecord:
    organization_id: str
    kind: str  # e.g. "unpriced"
    source: str
    event_id: str
    resource_id: str
    time: datetime
    message: str


_PG_INSERT: Final = (
    "INSERT INTO anomalies (organization_id, kind, source, event_id, resource_id, time, message)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::timestamptz[], %s::text[])"
)


def record_anomalies(connection: Connection, records: Sequence[AnomalyRecord]) -> None:
    if not records:
        return
    if connection.dialect.name == "postgresql":  # one statement, not one per record
        columns = zip(*map(astuple, records), strict=True)
        connection.exec_driver_sql(_PG_INSERT, tuple(map(list, columns)))
        return
    connection.execute(insert(Anomaly), [asdict(record) for record in records])


def anomalies_for(
    connection: Connection, organization_id: str, start: datetime, end: datetime
) -> list[AnomalyRecord]:
    """The anomalies of an organisation with `start <= time < end`, by time."""
    query = (
        select(
            Anomaly.organization_id,
            Anomaly.kind,
            Anomaly.source,
            Anomaly.event_id,
            Anomaly.resource_id,
            Anomaly.time,
            Anomaly.message,
        )
        .where(
            Anomaly.organization_id == organization_id,
            Anomaly.time >= start,
            Anomaly.time < end,
        )
        .order_by(Anomaly.time, Anomaly.seq)
    )
    return [AnomalyRecord(*row) for row in connection.execute(query)]
