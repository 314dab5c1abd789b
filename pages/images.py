"""Images panel: attach images to the next chat message and see their cost before sending."""

from components.images import attach_sources, panel_header, pending_cards, send_with_message
from components.state import get_workspace
from components.view_code import view_code

workspace = get_workspace()
panel_header(workspace)
attach_sources(workspace)
pending_cards(workspace)
send_with_message(workspace)
view_code(workspace)
