"""Demo panel: a saved session or prompt version played as a script to an audience, live or from its
recording; presentation view; read-only share links."""

from components.demo import demo_page
from components.state import get_workspace

demo_page(get_workspace())
