"""The SDK, pandas, Pillow and the demo player load when they are used, not with the page (startup
benchmark P5)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_app_core_does_not_load_the_sdk_until_a_client_needs_it():
    code = (
        "import sys\n"
        "import components.state, components.chat_view, components.sidebar, playground.workspace\n"
        "assert 'openai.types' not in sys.modules, 'the SDK loaded with the page'\n"
        "assert 'pandas' not in sys.modules, 'pandas loaded with the page'\n"
        "assert 'PIL.Image' not in sys.modules, 'Pillow loaded with the page'\n"
        "assert 'playground.demo' not in sys.modules, 'the demo player loaded with the page'\n"
        "from playground.client import PlaygroundClient, client_errors\n"
        "from playground.connection import ConnectionSettings\n"
        "import openai\n"
        "assert openai.OpenAIError in client_errors()\n"
        "assert 'openai.types' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
