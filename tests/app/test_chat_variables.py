"""Variables on the chat page under AppTest: the form appears only when the prompt uses variables,
a missing one keeps the message in the box with the reason (nothing sent), filled values are sent
rendered, and View code shows the rendered request."""

from __future__ import annotations

from components.chat_view import ChatKeys
from components.state import STATE_KEY, Keys
from components.variables import variable_key
from components.view_code import ViewCodeKeys


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def send(app, text):
    app.chat_input(key=Keys.CHAT_INPUT).set_value(text).run()
    assert not app.exception
    return app


def with_system_prompt(app, text):
    app.session_state[ChatKeys.SETTINGS_OPEN] = True
    app.run()
    app.text_area(key=Keys.SYSTEM_PROMPT).input(text).run()
    assert not app.exception
    return app


def test_no_form_without_variables(app_factory):
    app = app_factory()
    assert not [field for field in app.text_input if field.key and field.key.startswith("vars.")]


def test_a_missing_variable_keeps_the_message_then_the_filled_request_is_sent(app_factory, fake):
    app = with_system_prompt(app_factory(), "You write for {{company}}.")
    assert app.text_input(key=variable_key("company")).value == ""
    send(app, "A slogan about {{product}}")
    assert any("Fill in the variables company, product before sending" in e.value for e in app.error)
    assert app.chat_input(key=Keys.CHAT_INPUT).proto.value == "A slogan about {{product}}"
    assert fake.chat_requests() == []
    app.text_input(key=variable_key("company")).input("Acme").run()
    app.text_input(key=variable_key("product")).input("rockets").run()
    assert workspace(app).variables == {"company": "Acme", "product": "rockets"}
    send(app, "A slogan about {{product}}")
    sent = fake.chat_requests()[-1].json["messages"]
    assert sent == [
        {"role": "system", "content": "You write for Acme."},
        {"role": "user", "content": "A slogan about rockets"},
    ]


def test_view_code_shows_the_rendered_request(app_factory):
    app = with_system_prompt(app_factory(), "You write for {{company}}.")
    app.text_input(key=variable_key("company")).input("Acme").run()
    app.session_state[ViewCodeKeys.EXPANDER] = True
    app.run()
    python = next(code.value for code in app.code if code.language == "python")
    assert "You write for Acme." in python and "{{" not in python
