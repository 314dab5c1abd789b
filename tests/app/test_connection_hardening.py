"""The connection in the page: a key quoted back by the server never reaches the page; timeouts are settings."""

from __future__ import annotations

from components.state import STATE_KEY, Keys
from tests.fakes.server import Scenario

VISITOR_KEY = "sk-visitor-SecretKey-0123456789abcdXYZ"


def page_text(node) -> str:
    """Every element the script sent to the browser, as text (the visitor's own key field left out)."""
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        return "\n".join(page_text(child) for child in children.values())
    if getattr(node, "key", None) == Keys.api_key("compatible"):
        return ""
    proto = getattr(node, "proto", None)
    return str(proto) if proto is not None else ""


def test_a_partial_or_upper_case_key_in_a_server_error_never_reaches_the_page(app_factory, fake):
    app = app_factory()
    app.sidebar.text_input(key=Keys.api_key("compatible")).input(VISITOR_KEY).run()
    quoted = f"Key {VISITOR_KEY[3:].upper()} (fragment {VISITOR_KEY[8:24]}) may not use gpt-4.1-mini."
    fake.enqueue(Scenario(fault="permission_denied", error_message=quoted))
    app.chat_input(key=Keys.CHAT_INPUT).set_value("hello").run()
    assert not app.exception
    assert fake.chat_requests()[-1].headers["authorization"] == f"Bearer {VISITOR_KEY}"
    reply = app.session_state[STATE_KEY].workspace.conversation.messages[-1]
    assert reply.error is not None
    shown = page_text(app._tree).lower()
    assert "may not use this model" in shown and "[redacted]" in shown  # the error itself is on the page...
    for secret in (VISITOR_KEY, VISITOR_KEY[3:], VISITOR_KEY[8:24]):
        assert secret.lower() not in shown  # ...but no run of the key
        assert secret.lower() not in reply.error.message.lower()


def test_timeouts_are_connection_settings_in_the_sidebar(app_factory):
    app = app_factory()
    app.sidebar.number_input(key="conn.timeout.first_byte").set_value(5.0).run()
    app.sidebar.number_input(key="conn.timeout.idle").set_value(7.0).run()
    connection = app.session_state[STATE_KEY].workspace.connection
    assert (connection.first_byte_timeout_s, connection.idle_timeout_s, connection.connect_timeout_s) == (
        5.0,
        7.0,
        10.0,
    )


def test_a_schema_run_against_llama_cpp_falls_back_instead_of_saying_retry_later(app_factory, fake):
    from components.schema_builder import SCHEMA_PAGE, SchemaKeys

    fake.configure(mode="llama_cpp")
    app = app_factory(page=SCHEMA_PAGE)
    app.selectbox(key=SchemaKeys.TEMPLATE).select("feedback_analysis").run()
    app.button(key=SchemaKeys.LOAD_TEMPLATE).click().run()
    fake.enqueue(Scenario(text='{"sentiment":"positive","category":"shipping","priority":"low","summary":"Fast."}'))
    app.text_area(key=SchemaKeys.TEST_INPUT).input("The parcel came fast.").run()
    app.button(key=SchemaKeys.RUN).click().run()
    assert not app.exception
    refused, fallback = (request.json for request in fake.chat_requests())
    assert refused["response_format"]["type"] == "json_schema"
    assert fallback["response_format"]["type"] == "json_object" and "schema" in fallback["response_format"]
    assert not any("retry later" in error.value.lower() for error in app.error)
    assert any("Valid]" in m.value for m in app.markdown if "-badge[" in m.value)


def test_what_the_session_learnt_about_the_server_is_said_in_the_sidebar(app_factory, fake):
    fake.configure(mode="llama_cpp")
    app = app_factory()
    app.chat_input(key=Keys.CHAT_INPUT).set_value("hello").run()
    captions = [caption.value for caption in app.sidebar.caption]
    assert any("sends no token usage" in caption for caption in captions)
    reply = app.session_state[STATE_KEY].workspace.conversation.messages[-1]
    assert reply.stats.usage_estimated
