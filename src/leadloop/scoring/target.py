"""What the predictive model predicts for a lead (issue 16): a light definition, read by the settings'
wiring without loading scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass

from leadloop.core.errors import InvalidInput


@dataclass(frozen=True)
class Target:
    """What the model predicts for a lead: its account wins a deal (`won`) or opens one (`created`)
    on the lead's product within `days` days."""

    event: str = "won"
    days: int = 90

    def __post_init__(self) -> None:
        if self.event not in ("won", "created"):
            raise InvalidInput(f"the target is a deal won or created, not {self.event!r}")
        if not 1 <= self.days <= 730:
            raise InvalidInput(f"the target window is 1 to 730 days, not {self.days}")

    def describe(self) -> str:
        return f"a deal {'won' if self.event == 'won' else 'opened'} within {self.days} days"
