"""Demos for stakeholders, UI-free: recordings, offline replay, the scripted demo, presentation
settings and read-only share links (issue 12). The UI wires these in; nothing here imports Streamlit."""

from playground.demo.recording import Pace, RecordedReply, RecordedToolResult, RecordedTurn, SessionRecording
from playground.demo.replay import Clock, ManualClock, SystemClock, replay_reply, replay_turn
from playground.demo.script import RECORDING_FALLBACK_KINDS, DemoMode, DemoStage, ScriptedDemo, TurnFailure

__all__ = [
    "RECORDING_FALLBACK_KINDS",
    "Clock",
    "DemoMode",
    "DemoStage",
    "ManualClock",
    "Pace",
    "RecordedReply",
    "RecordedToolResult",
    "RecordedTurn",
    "ScriptedDemo",
    "SessionRecording",
    "SystemClock",
    "TurnFailure",
    "replay_reply",
    "replay_turn",
]
