"""What one kind of versioned document supplies to the machine. Pure: no database, no web."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Protocol, Self, TypeVar

from leadloop.auth.model import STAFF, Role
from leadloop.core.events import Event
from leadloop.core.yamldoc import Problem

if TYPE_CHECKING:  # types only: the core imports no database code when it runs
    from sqlalchemy.orm import Session

    from leadloop.store.tables import VersionedDocument


class Document(Protocol):
    """A parsed document: named, versioned, and written back as the YAML people edit."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    def to_yaml(self) -> str: ...

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self: ...


class Outcome(Protocol):
    """What a what-if or an activation found; `summary()` is what pages, API and CLI show."""

    def summary(self) -> dict[str, Any]: ...


D = TypeVar("D", bound=Document)
D_contra = TypeVar("D_contra", bound=Document, contravariant=True)


class Draft(NamedTuple):
    id: int
    warnings: list[str]


class Activation(NamedTuple):
    outcome: Outcome
    events: list[Event]  # already published, inside the activation's transaction


@dataclass(frozen=True)
class NothingToReport:
    """The outcome of an activation that changes nothing but the active row."""

    def summary(self) -> dict[str, Any]:
        return {}


def no_warnings(_doc: Any) -> list[str]:
    return []


class Preview(Protocol[D_contra]):
    """What activating `doc` would change, written nowhere. `limit` caps a replay of past items
    (kinds whose what-if replays say their default in `preview_limit`; others ignore it)."""

    def __call__(
        self, session: Session, doc: D_contra, /, *, now: datetime, limit: int | None
    ) -> Outcome: ...


class Activate(Protocol[D_contra]):
    """The kind's own work of an activation, in its transaction, before the row becomes active;
    raising refuses the activation (nothing of it is committed)."""

    def __call__(self, session: Session, doc: D_contra, /, *, now: datetime) -> Activation: ...


def no_refusals(_session: Session, _doc: Any, _text: str) -> list[Problem]:
    return []


@dataclass(frozen=True)
class DocumentKind(Generic[D]):
    """One kind of versioned document. The machine (documents/handlers.py) does what every kind
    shares: store a draft, keep one version active, find the default; the hooks do what differs."""

    slug: str  # "scoring": its CLI group, its pages under /scoring, its API tag
    noun: str  # "model": what people call one document of this kind
    table: type[VersionedDocument]  # where its versions are stored
    parse: Callable[[str], D]  # text -> document, or a DocumentError naming every bad line
    active: Callable[[Session], tuple[D, int | None]]  # the active one and its id; the shipped default, None
    preview: Preview[D]
    activate: Activate[D]
    editors: frozenset[Role]  # who may activate (and save, preview, comment); every staff member may read
    readers: frozenset[Role] = STAFF
    # Who may also write drafts, try them and comment on them, without activating (the sales
    # managers of scoring, issue 16 item 6); the editors when None.
    drafters: frozenset[Role] | None = None
    warnings: Callable[[D], list[str]] = no_warnings  # saved anyway, shown beside the document
    # What the document names that the data must have (a segment, a subscription type): refused at
    # save time like a bad line, with its line where the text shows it.
    refuse: Callable[[Session, D, str], list[Problem]] = no_refusals
    preview_limit: int | None = None

    @property
    def drafting(self) -> frozenset[Role]:
        return self.editors | (self.drafters or frozenset())

    @property
    def what(self) -> str:
        return f"{self.slug} {self.noun}"
