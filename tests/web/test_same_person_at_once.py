"""Two (or eight) simultaneous captures of the same new person end as one person, with every
activity on that person's timeline, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from leadloop.store.tables import Activity, Person
from tests.fixtures.web import Web


def test_simultaneous_captures_of_one_new_person(web: Web) -> None:
    client = web.api_client()  # one key, eight threads sending at the same moment
    start = threading.Barrier(8)
    codes: list[int] = []
    lock = threading.Lock()

    def send(k: int) -> None:
        start.wait()
        r = client.post(
            "/api/v1/leads",
            json={
                "email": "Same.Person@NewCo.example",
                "first_name": "Sam",
                "company": "NewCo",
                "activity_type": "form_submit",
                "occurred_at": f"2026-10-0{k + 1}T10:00:00Z",
            },
        )
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 8
    with web.db.read() as s:
        people = s.scalars(sa.select(Person).where(Person.email == "same.person@newco.example")).all()
        assert len(people) == 1
        acts = s.scalar(
            sa.select(sa.func.count()).where(
                Activity.person_id == people[0].id, Activity.type == "form_submit"
            )
        )
        assert acts == 8
