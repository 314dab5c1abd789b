"""app.py: starts with or without credentials, keeps keys per session, sidebar connection works."""

from __future__ import annotations

from components.state import STATE_KEY, Keys


def test_starts_with_no_credentials_and_says_what_is_needed(app_factory):
    app = app_factory(connected=False)
    assert not app.exception
    infos = " ".join(info.value for info in app.sidebar.info)
    assert "OpenAI API key" in infos and "work without a connection" in infos


def test_sending_without_credentials_keeps_the_message_and_explains(app_factory, fake):
    app = app_factory(connected=False)
    app.chat_input(key=Keys.CHAT_INPUT).set_value("Hello?").run()
    assert not app.exception
    assert app.chat_message[0].markdown[0].value == "Hello?"
    assert any("To send, add an OpenAI API key" in error.value for error in app.error)
    assert fake.chat_requests() == []


def test_server_side_key_is_used_but_never_sent_to_the_browser(app_factory, fake):
    app = app_factory()
    key_field = app.sidebar.text_input(key=Keys.api_key("compatible"))
    assert key_field.value == ""  # the server's key is not put into the widget
    assert "configured on the server" in key_field.proto.placeholder
    app.chat_input(key=Keys.CHAT_INPUT).set_value("hi").run()
    assert fake.chat_requests()[-1].headers["authorization"] == "Bearer sk-server-side-key"


def test_server_key_is_never_sent_to_an_address_the_visitor_typed(app_factory, fake):
    from tests.fakes.server import FakeOpenAIServer

    app = app_factory()
    with FakeOpenAIServer() as elsewhere:
        app.sidebar.text_input(key=Keys.BASE_URL).input(elsewhere.base_url).run()
        app.sidebar.button(key=Keys.TEST_CONNECTION).click().run()
        app.chat_input(key=Keys.CHAT_INPUT).set_value("hello").run()
        seen = {request.headers.get("authorization") for request in elsewhere.requests}
    assert seen and "Bearer sk-server-side-key" not in seen
    assert app.session_state[STATE_KEY].workspace.connection.api_key is None
    assert "Paste your key" in app.sidebar.text_input(key=Keys.api_key("compatible")).proto.placeholder


def test_a_typed_key_stays_with_its_provider(app_factory):
    app = app_factory()
    app.sidebar.text_input(key=Keys.api_key("compatible")).input("sk-typed-for-local").run()
    app.sidebar.selectbox(key=Keys.PROVIDER).select("azure").run()
    app.sidebar.text_input(key=Keys.AZURE_ENDPOINT).input("https://res.openai.azure.com").run()
    assert app.session_state[STATE_KEY].workspace.connection.api_key is None
    assert app.sidebar.text_input(key=Keys.api_key("azure")).value == ""


def test_two_sessions_with_different_keys_never_share_a_client(app_factory, fake):
    first, second = app_factory(), app_factory()
    first.sidebar.text_input(key=Keys.api_key("compatible")).input("sk-first-session").run()
    second.sidebar.text_input(key=Keys.api_key("compatible")).input("sk-second-session").run()
    first.chat_input(key=Keys.CHAT_INPUT).set_value("from first").run()
    second.chat_input(key=Keys.CHAT_INPUT).set_value("from second").run()
    by_text = {req.json["messages"][-1]["content"]: req.headers["authorization"] for req in fake.chat_requests()}
    assert by_text == {"from first": "Bearer sk-first-session", "from second": "Bearer sk-second-session"}
    first_client = first.session_state[STATE_KEY].workspace.client()
    second_client = second.session_state[STATE_KEY].workspace.client()
    assert first_client is not second_client
    assert first_client.settings.key == "sk-first-session" and second_client.settings.key == "sk-second-session"


def test_switching_to_azure_shows_azure_fields(app_factory):
    app = app_factory()
    app.sidebar.selectbox(key=Keys.PROVIDER).select("azure").run()
    assert not app.exception
    app.sidebar.text_input(key=Keys.AZURE_ENDPOINT).input("https://res.openai.azure.com").run()
    app.sidebar.text_input(key=Keys.DEPLOYMENT).input("mini-prod").run()
    workspace = app.session_state[STATE_KEY].workspace
    assert workspace.connection.provider == "azure" and workspace.connection.request_model == "mini-prod"
    assert workspace.model_spec().is_estimate  # a deployment name: figures are labelled estimates
    assert any("estimated" in caption.value for caption in app.sidebar.caption)
    assert any("retired" in warning.value or "retires" in warning.value for warning in app.sidebar.warning)


def test_test_connection_reports_each_check(app_factory):
    app = app_factory()
    app.sidebar.button(key=Keys.TEST_CONNECTION).click().run()
    successes = [s.value for s in app.sidebar.success]
    assert any("List models" in s for s in successes) and any("Chat completion" in s for s in successes)


def test_list_models_fills_the_model_choices(app_factory, fake):
    fake.models = [{"id": "local-llama", "object": "model", "created": 0, "owned_by": "me"}]
    app = app_factory()
    app.sidebar.button(key=Keys.LIST_MODELS).click().run()
    assert "local-llama" in app.sidebar.selectbox(key=Keys.MODEL).options


def test_a_locked_connection_cannot_be_pointed_elsewhere(app_factory, clean_env, fake):
    clean_env.setenv("PLAYGROUND_LOCK_CONNECTION", "1")
    app = app_factory()
    assert not [field for field in app.sidebar.text_input if field.key in (Keys.BASE_URL, Keys.api_key("compatible"))]
    assert not [box for box in app.sidebar.selectbox if box.key == Keys.PROVIDER]
    assert any(
        "set by the operator" in caption.value and fake.base_url in caption.value for caption in app.sidebar.caption
    )
    app.sidebar.selectbox(key=Keys.MODEL).select("gpt-4o-mini").run()  # the model is still the visitor's choice
    app.chat_input(key=Keys.CHAT_INPUT).set_value("hi").run()
    sent = fake.chat_requests()[-1]
    assert sent.json["model"] == "gpt-4o-mini" and sent.headers["authorization"] == "Bearer sk-server-side-key"
