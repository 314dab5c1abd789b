"""Test sets and evaluation runs in the database (issue 13).

A test set is saved as numbered, immutable versions (rows and graders together); a run is one row
holding its whole :class:`~playground.evals.RunState` (exact configuration and results so far),
written again as it progresses, so a reload or a restart finds it and can resume it.

``playground.evals`` is imported when a method needs it: opening the store stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Connection, Engine, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from playground.errors import ErrorKind, PlaygroundError
from playground.store.models import DEFAULT_OWNER, EvalRunRow, TestSetVersionRow, utc_now

if TYPE_CHECKING:
    from playground.evals import Grader, RunState, TestSet

SAVE_ATTEMPTS = 20


@dataclass(frozen=True)
class TestSetInfo:
    __test__ = False  # not a pytest class

    name: str
    version: int
    rows: int
    created_at: datetime


@dataclass(frozen=True)
class RunInfo:
    """A stored run as a list shows it. ``engine`` ("live" or "batch"), ``rows`` and ``variants``
    come from the stored configuration (a run saved before the Batch API existed is "live")."""

    id: str
    test_set_name: str
    status: str
    created_at: datetime
    updated_at: datetime
    engine: str = "live"
    rows: int = 0
    variants: int = 0


#: A run's (engine, rows, variants) by id: its configuration never changes once saved, so each is
#: read from the database once per process (no user text: names and counts only).
_SHAPES_KEPT = 2_000


class EvalRepository:
    """The test sets and runs of one ``owner``."""

    def __init__(self, engine: Engine, owner: str = DEFAULT_OWNER) -> None:
        self.engine = engine
        self.owner = owner
        self._shapes: dict[str, tuple[str, int, int]] = {}

    # --- test sets ------------------------------------------------------------------------------
    def save_test_set(self, test_set: TestSet, graders: Sequence[Grader] = ()) -> TestSet:
        """Save ``test_set`` (with ``graders``) as the next version of its name; returns it numbered."""
        from playground.evals import GRADERS

        name = test_set.name.strip()
        if not name:
            raise PlaygroundError.invalid_input("Give the test set a name.")
        for attempt in range(SAVE_ATTEMPTS):
            try:
                with self.engine.begin() as connection:
                    latest = connection.scalar(
                        select(func.max(TestSetVersionRow.version)).where(
                            TestSetVersionRow.owner == self.owner, TestSetVersionRow.name == name
                        )
                    )
                    saved = test_set.model_copy(update={"name": name, "version": (latest or 0) + 1})
                    connection.execute(
                        insert(TestSetVersionRow).values(
                            owner=self.owner,
                            name=name,
                            version=saved.version,
                            body=saved.to_json(),
                            graders=GRADERS.dump_json(list(graders)).decode(),
                            created_at=utc_now(),
                        )
                    )
                    return saved
            except IntegrityError:  # another writer took this number: take the next
                time.sleep(0.005 * (attempt + 1))
        raise PlaygroundError(ErrorKind.SERVER, f"Could not save the test set {name!r}: the database stayed busy.")

    def test_sets(self) -> list[TestSetInfo]:
        """The latest version of every test set, most recent first."""
        with self.engine.connect() as connection:
            latest = (
                select(TestSetVersionRow.name, func.max(TestSetVersionRow.version).label("version"))
                .where(TestSetVersionRow.owner == self.owner)
                .group_by(TestSetVersionRow.name)
                .subquery()
            )
            rows = connection.execute(
                select(
                    TestSetVersionRow.name,
                    TestSetVersionRow.version,
                    TestSetVersionRow.body,
                    TestSetVersionRow.created_at,
                )
                .join(
                    latest, (latest.c.name == TestSetVersionRow.name) & (latest.c.version == TestSetVersionRow.version)
                )
                .where(TestSetVersionRow.owner == self.owner)
                .order_by(TestSetVersionRow.created_at.desc(), TestSetVersionRow.name)
            ).all()
        from playground.evals import TestSet

        return [TestSetInfo(r.name, r.version, len(TestSet.from_json(r.body).rows), r.created_at) for r in rows]

    def versions(self, name: str) -> list[int]:
        with self.engine.connect() as connection:
            return list(
                connection.scalars(
                    select(TestSetVersionRow.version)
                    .where(TestSetVersionRow.owner == self.owner, TestSetVersionRow.name == name)
                    .order_by(TestSetVersionRow.version)
                )
            )

    def get_test_set(self, name: str, version: int | None = None) -> tuple[TestSet, list[Grader]]:
        """``name`` at ``version`` (default: the latest) and its graders."""
        from playground.evals import GRADERS, TestSet

        query = select(TestSetVersionRow.body, TestSetVersionRow.graders).where(
            TestSetVersionRow.owner == self.owner, TestSetVersionRow.name == name
        )
        query = (
            query.where(TestSetVersionRow.version == version)
            if version is not None
            else query.order_by(TestSetVersionRow.version.desc()).limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            which = f" version {version}" if version is not None else ""
            raise PlaygroundError(ErrorKind.NOT_FOUND, f"There is no test set {name!r}{which}.")
        return TestSet.from_json(row.body), list(GRADERS.validate_json(row.graders))

    def delete_test_set(self, name: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(TestSetVersionRow).where(TestSetVersionRow.owner == self.owner, TestSetVersionRow.name == name)
            )

    # --- runs -----------------------------------------------------------------------------------
    def save_run(self, state: RunState) -> None:
        """Write ``state`` (inserted the first time, replaced after)."""
        body, now = state.model_dump_json(), utc_now()
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(EvalRunRow)
                .where(EvalRunRow.id == state.id, EvalRunRow.owner == self.owner)
                .values(status=state.status, body=body, updated_at=now)
            ).rowcount
            if not changed:
                connection.execute(
                    insert(EvalRunRow).values(
                        id=state.id,
                        owner=self.owner,
                        test_set_name=state.config.test_set.name,
                        status=state.status,
                        body=body,
                        created_at=now,
                        updated_at=now,
                    )
                )

    def runs(self, limit: int = 50) -> list[RunInfo]:
        """The latest runs, most recently updated first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    EvalRunRow.id,
                    EvalRunRow.test_set_name,
                    EvalRunRow.status,
                    EvalRunRow.created_at,
                    EvalRunRow.updated_at,
                )
                .where(EvalRunRow.owner == self.owner)
                .order_by(EvalRunRow.updated_at.desc())
                .limit(limit)
            ).all()
            if missing := [r.id for r in rows if r.id not in self._shapes]:
                self._read_shapes(connection, missing)
        return [RunInfo(r.id, r.test_set_name, r.status, r.created_at, r.updated_at, *self._shape(r.id)) for r in rows]

    def _shape(self, run_id: str) -> tuple[str, int, int]:
        return self._shapes.get(run_id, ("live", 0, 0))

    def _read_shapes(self, connection: Connection, run_ids: list[str]) -> None:
        """Each run's engine, row and variant counts, read from its stored JSON by the database
        (the body, results and all, is not sent here)."""
        if self.engine.dialect.name == "postgresql":
            config = cast(EvalRunRow.body, JSON)["config"]
            engine = config["engine"].as_string()
            rows = func.json_array_length(config["test_set"]["rows"])
            variants = func.json_array_length(config["variants"])
        else:
            engine = func.json_extract(EvalRunRow.body, "$.config.engine")
            rows = func.json_array_length(EvalRunRow.body, "$.config.test_set.rows")
            variants = func.json_array_length(EvalRunRow.body, "$.config.variants")
        found = connection.execute(
            select(EvalRunRow.id, engine.label("engine"), rows.label("rows"), variants.label("variants")).where(
                EvalRunRow.id.in_(run_ids), EvalRunRow.owner == self.owner
            )
        ).all()
        if len(self._shapes) + len(found) > _SHAPES_KEPT:
            self._shapes.clear()
        for row in found:
            self._shapes[row.id] = (row.engine or "live", int(row.rows or 0), int(row.variants or 0))

    def get_run(self, run_id: str) -> RunState:
        from playground.evals import RunState

        with self.engine.connect() as connection:
            body = connection.scalar(
                select(EvalRunRow.body).where(EvalRunRow.id == run_id, EvalRunRow.owner == self.owner)
            )
        if body is None:
            raise PlaygroundError(ErrorKind.NOT_FOUND, f"There is no run {run_id!r}.")
        return RunState.model_validate_json(body)
