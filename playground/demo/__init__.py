"""Demos for stakeholders, UI-free: recordings, offline replay, the scripted demo, presentation
settings and read-only share links (issue 12). The UI wires these in; nothing here imports Streamlit."""

from playground.demo.links import (
    InMemoryRevocations,
    LinkPermission,
    LinkRefusal,
    LinkTarget,
    RevocationRegistry,
    ShareGrant,
    ShareLink,
    ShareLinkRefused,
    ShareLinks,
    share_secret,
)
from playground.demo.panel import DemoPanel, DemoSource
from playground.demo.presentation import (
    PresentationSettings,
    PresentationView,
    load_presentation_settings,
    presentation_requested,
)
from playground.demo.recording import Pace, RecordedReply, RecordedToolResult, RecordedTurn, SessionRecording
from playground.demo.replay import Clock, ManualClock, SystemClock, replay_reply, replay_turn
from playground.demo.script import RECORDING_FALLBACK_KINDS, DemoMode, DemoStage, ScriptedDemo, TurnFailure

__all__ = [
    "RECORDING_FALLBACK_KINDS",
    "Clock",
    "DemoMode",
    "DemoPanel",
    "DemoSource",
    "DemoStage",
    "InMemoryRevocations",
    "LinkPermission",
    "LinkRefusal",
    "LinkTarget",
    "ManualClock",
    "Pace",
    "PresentationSettings",
    "PresentationView",
    "RecordedReply",
    "RecordedToolResult",
    "RecordedTurn",
    "RevocationRegistry",
    "ScriptedDemo",
    "SessionRecording",
    "ShareGrant",
    "ShareLink",
    "ShareLinkRefused",
    "ShareLinks",
    "SystemClock",
    "TurnFailure",
    "load_presentation_settings",
    "presentation_requested",
    "replay_reply",
    "replay_turn",
    "share_secret",
]
