"""Serve the playground with security headers: ``streamlit run serve.py``.

Model output is rendered as Markdown, and Markdown images load from any URL: a reply could leak
conversation text through an image address. The Content-Security-Policy below lets images load
only from this app, ``data:`` and ``blob:`` URLs. ``app.py`` stays the script Streamlit runs.

At start it also warns the operator when visitors could point an unlocked connection anywhere, and
keeps Streamlit from asking a third party for this machine's external IP.
"""

import logging
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit import net_util
from streamlit.runtime.pages_manager import PagesManager

from components.state import configured_connection
from playground.connection import exposure_warning

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'self'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The panels live in pages/, which Streamlit also reads as a legacy (v1) multipage folder until
# app.py's st.navigation first runs in the process: until then a direct link such as /images would
# run that page alone, without app.py's sidebar and navigation. app.py always navigates itself.
PagesManager.uses_pages_directory = False

# A websocket from a foreign origin makes Streamlit compare it with this machine's external IP,
# which it asks checkip.amazonaws.com for (an outbound request on a closed network, and a leak of
# the deployment); no setting turns that lookup off short of disabling CORS. Origins are allowed
# by server.corsAllowedOrigins and browser.serverAddress instead.
net_util.get_external_ip = lambda: None

if warning := exposure_warning(configured_connection(), str(st.get_option("server.address") or "")):
    logging.getLogger("playground").warning(warning)

app = st.App(Path(__file__).with_name("app.py"), middleware=[Middleware(SecurityHeadersMiddleware)])
