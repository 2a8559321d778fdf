"""What a notification says, as a plain value a reaction builds from an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TITLE_MAX = 300
BODY_MAX = 1000


@dataclass(frozen=True)
class Notice:
    """One notification for one user. `key` names the thing that happened (a retried reaction, or
    the same event seen twice, writes it once); `link` is a path in the app."""

    user_id: int
    kind: str
    key: str
    title: str
    link: str | None = None
    body: str | None = None

    def row(self, now: datetime) -> dict[str, object]:
        return {
            "key": self.key[:200],
            "user_id": self.user_id,
            "kind": self.kind[:40],
            "title": self.title[:TITLE_MAX],
            "body": self.body[:BODY_MAX] if self.body else None,
            "link": self.link if self.link and self.link.startswith("/") else None,
            "created_at": now,
            "read_at": None,
        }
