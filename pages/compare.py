"""Compare panel: side by side, test sets with graders and runs, and the check on another model."""

from components.compare import compare_panel

compare_panel()
