"""A sequence (drip) is a document: YAML in and out, validated when it is saved, so that what runs
for months was checked once, with the line of every problem. Pure: no database.

    name: not-ready-yet
    version: 1
    subscription: newsletter          # the consent type a person must allow
    triggers: {inquiry: true, recycled: [no_budget], cooled: true, stages: [lost]}
    re_entry: {after_days: 90}        # or never | always
    window: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
    sender: {name: Priya Patel, email: priya@example.com}
    from: sender                      # or owner: the account's rep, else the sender
    steps:
      - id: hello
        email: {subject: "Hello {{ first_name | default('there') }}", text: "..."}
      - wait: {business_days: 3}
      - branch: {if: {opened: hello}, then: call, else: nudge}
      - direct_mail: {piece: Spring postcard, via: list}   # or via: webhook, event: postcard
      ...

The schema is here; `nurture/checks.py` parses a document and refuses, at save time, what the
schema alone cannot see (a wait of zero or less, a loop with no wait, a bad template...).
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadloop.contract.vocab import ENTITY_FIELDS
from leadloop.core.yamldoc import DocumentError

END = "end"  # a branch or goto target that finishes the sequence
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
STAGE_TARGETS = ("mql", "recycled")  # what a step may ask the lifecycle for
TRIGGER_STAGES = ("nurture", "recycled", "lost", "won")  # a new inquiry: `inquiry: true`
_ID = r"^[a-z][a-z0-9_-]{0,39}$"
CODE = r"^[a-z][a-z0-9_]{0,39}$"
EVENT = r"[a-z][a-z0-9_.]{0,59}"  # a webhook's event name (sent as `sequence.<event>`)
MAX_STEPS = 100
MAX_WAIT_DAYS = 3650
# What a `field` branch may test: the person's contract fields, their scores, the account's.
PERSON_FIELDS = tuple(f for f in ENTITY_FIELDS["people"] if f not in ("account_external_id", "campaign"))
SCORE_FIELDS = ("grade", "fit_score", "email_kind")
ACCOUNT_FIELDS = tuple(f"account.{f}" for f in ENTITY_FIELDS["accounts"] if f != "parent_external_id")
FIELDS = (*PERSON_FIELDS, *SCORE_FIELDS, *ACCOUNT_FIELDS)


class SequenceDocumentError(DocumentError):
    """A sequence that cannot be used, with every problem and its line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Email(_Strict):
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=50_000)
    html: str | None = Field(default=None, max_length=200_000)  # none: made from the text


class Wait(_Strict):
    """Exactly one: hours, days, business days (Monday to Friday, less the public holidays of the
    person's country, in their time zone), or until a date (its start, in the person's time zone)."""

    hours: float | None = None
    days: float | None = None
    business_days: int | None = None
    until: date | None = None

    @property
    def given(self) -> list[str]:
        return [k for k in ("hours", "days", "business_days", "until") if getattr(self, k) is not None]

    @property
    def breaks_loops(self) -> bool:
        """A wait of a duration makes a loop take time; a wait until a date does so only once."""
        return self.until is None


CONDITIONS = ("opened", "clicked", "score", "field", "segment")


class ScoreTest(_Strict):
    of: Literal["engagement", "fit"] = "engagement"
    min: float | None = None
    max: float | None = None


class FieldTest(_Strict):
    """`name` is a person field (title, country, grade...), `account.<field>` or `attributes.<key>`."""

    name: str
    equals: str | float | bool | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    contains: str | None = None
    present: bool | None = None


class Condition(_Strict):
    """Exactly one: the e-mail of step `opened`/`clicked` was opened/clicked, a score in a band, a
    field test, the person is in the segment named `segment` now."""

    opened: str | None = None
    clicked: str | None = None
    score: ScoreTest | None = None
    field: FieldTest | None = None
    segment: str | None = Field(default=None, min_length=1, max_length=100)

    @property
    def given(self) -> list[str]:
        return [k for k in CONDITIONS if getattr(self, k) is not None]


class Branch(_Strict):
    if_: Condition = Field(alias="if")
    then: str | None = None  # a step id or `end`; none: the next step
    else_: str | None = Field(default=None, alias="else")


class Task(_Strict):
    """A personal touch for the lead's owner (a call): a task in their workbench."""

    title: str = Field(min_length=1, max_length=200)
    due_in_hours: float = 24.0


class Webhook(_Strict):
    event: str = Field(pattern=f"^{EVENT}$")
    data: dict[str, str | int | float | bool] = Field(default_factory=dict)


VIAS = ("list", "webhook")


class DirectMail(_Strict):
    """A piece of post (a postcard, a book, a gift) to the person's postal address, which is checked
    first (`nurture/postal.py`): a person without a complete one is skipped, with the reason, and
    the sequence goes on. `via: list` puts them on the sequence's mailing list for `piece`, exported
    as CSV for a print house; `via: webhook` hands the piece and the address to a print-and-mail
    service as the webhook `sequence.<event>`. Loosely typed here so that `checks.py` can say
    what is wrong in words, with the line."""

    piece: str | None = Field(default=None, max_length=100)
    via: str = "list"
    event: str | None = None
    data: dict[str, str | int | float | bool] = Field(default_factory=dict)


STEP_KINDS = ("email", "wait", "branch", "task", "webhook", "direct_mail", "stage", "goto")


class Step(_Strict):
    id: str | None = Field(default=None, pattern=_ID)
    email: Email | None = None
    wait: Wait | None = None
    branch: Branch | None = None
    task: Task | None = None
    webhook: Webhook | None = None
    direct_mail: DirectMail | None = None
    stage: Literal["mql", "recycled"] | None = None
    goto: str | None = None

    @property
    def kinds(self) -> list[str]:
        return [k for k in STEP_KINDS if getattr(self, k) is not None]

    @property
    def kind(self) -> str:
        return self.kinds[0]


class Triggers(_Strict):
    """When people enter by themselves (anyone may also be enrolled by hand)."""

    inquiry: bool = False  # a new lead that is not ready for sales: the same day
    recycled: bool | list[str] = False  # sales rejected or disqualified it (any reason, or these)
    cooled: bool = False  # an MQL nobody accepted went back to nurture
    stages: list[str] = Field(default_factory=list)  # the lead moved to one of these stages
    activities: list[str] = Field(default_factory=list)  # a form submitted, a download...
    segments: list[str] = Field(default_factory=list)  # entered one of these segments (by name)


class Window(_Strict):
    """When e-mail may arrive, in the recipient's own time zone (from their country, or an explicit
    zone); `zone` is used for people whose zone is unknown."""

    days: list[Day] = Field(default_factory=lambda: list(WORKDAYS))
    start: str = "09:00"
    end: str = "17:00"
    zone: str = "UTC"
    skip_holidays: bool = True  # the public holidays of the person's country

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, v: Any) -> Any:
        # YAML 1.1 reads an unquoted 17:00 as the base-60 integer 1020; give it back its clock form.
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
            return f"{v // 60:02d}:{v % 60:02d}"
        return v

    @property
    def opens(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def closes(self) -> time:
        return time.fromisoformat(self.end)


class Cooldown(_Strict):
    after_days: float


class Sender(_Strict):
    # A header value: no line break or other control character (it would break every message).
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class SequenceDoc(_Strict):
    name: str = Field(min_length=1, max_length=100)
    version: int = 1
    description: str | None = None
    subscription: str = Field(default="newsletter", pattern=CODE)
    triggers: Triggers = Field(default_factory=Triggers)
    re_entry: Literal["never", "always"] | Cooldown = "never"
    window: Window = Field(default_factory=Window)
    sender: Sender | None = None
    from_: Literal["owner", "sender"] = Field(default="owner", alias="from")
    steps: list[Step] = Field(min_length=1)

    def ids(self) -> list[str]:
        """Each step's id: its own, else its position (1, 2, 3...)."""
        return [s.id or str(i + 1) for i, s in enumerate(self.steps)]

    def index(self, step_id: str) -> int | None:
        ids = self.ids()
        return ids.index(step_id) if step_id in ids else None

    def step(self, step_id: str) -> Step:
        i = self.index(step_id)
        if i is None:
            raise KeyError(step_id)
        return self.steps[i]

    def first(self) -> str:
        return self.ids()[0]

    def after(self, step_id: str) -> str:
        """The id of the step after `step_id` (END after the last)."""
        i = self.index(step_id)
        ids = self.ids()
        return ids[i + 1] if i is not None and i + 1 < len(ids) else END

    def emails(self) -> list[str]:
        return [sid for sid, s in zip(self.ids(), self.steps, strict=True) if s.email is not None]

    def pieces(self) -> list[str]:
        """The ids of the direct-mail steps."""
        return [sid for sid, s in zip(self.ids(), self.steps, strict=True) if s.direct_mail is not None]

    def to_yaml(self) -> str:
        return yaml.dump(
            self.model_dump(mode="json", by_alias=True, exclude_none=True),
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )


class _Dumper(yaml.SafeDumper):
    """Templates of several lines come back as `|` blocks, the way people write them."""


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    """A list of plain values on one line (`days: [mon, tue]`); steps and the like as blocks."""
    flat = all(isinstance(v, str | int | float | bool) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _list)
