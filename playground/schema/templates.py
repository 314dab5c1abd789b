"""Ready-made strict-valid schemas, kept as data in ``playground/schema_templates.json``."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

TEMPLATES_PATH = Path(__file__).resolve().parent.parent / "schema_templates.json"


@cache
def _raw_templates() -> dict[str, dict]:
    data = json.loads(TEMPLATES_PATH.read_text(encoding="utf-8"))
    return {
        t["name"]: {"name": t["name"], "description": t["description"], "schema": t["schema"]}
        for t in data["templates"]
    }


def load_templates() -> dict[str, dict]:
    """Template name -> ``{"name", "description", "schema"}`` (a fresh copy on every call)."""
    return copy.deepcopy(_raw_templates())
