"""One browser session's demo page state: the script playing, where it came from, the share link
the session opened (a viewer), and the last action's outcome. The session store keeps one."""

from __future__ import annotations

from dataclasses import dataclass, field

from playground.demo.links import LinkTarget, ShareGrant
from playground.demo.script import ScriptedDemo


@dataclass(frozen=True)
class DemoSource:
    """What a demo plays: a saved session (its id) or a prompt version (``name@version``)."""

    target: LinkTarget
    target_id: str
    title: str

    @staticmethod
    def prompt_version_id(name: str, version: int) -> str:
        return f"{name}@{version}"

    def prompt_version(self) -> tuple[str, int]:
        """(name, version) of a prompt-version source."""
        name, _, version = self.target_id.rpartition("@")
        return name, int(version)


@dataclass
class DemoPanel:
    script: ScriptedDemo | None = None
    source: DemoSource | None = None
    grant: ShareGrant | None = None  # the share link this session opened: it views, read-only
    # The last action's ("success" | "error", message) by where it is shown ("demo", "share"), shown once.
    notices: dict[str, tuple[str, str]] = field(default_factory=dict)
    new_link: str | None = None  # the link just made, shown to its owner until the next one

    def play(self, script: ScriptedDemo, source: DemoSource, grant: ShareGrant | None = None) -> None:
        self.script, self.source, self.grant = script, source, grant

    def tell(self, place: str, kind: str, message: str) -> None:
        self.notices[place] = (kind, message)

    def take_notice(self, place: str) -> tuple[str, str] | None:
        return self.notices.pop(place, None)
