"""Variables: {{name}} rendered by Jinja2's sandbox, missing names caught before sending."""

from __future__ import annotations

import pytest

from playground.errors import ErrorKind, PlaygroundError
from playground.evals.variables import prompt_variables, render_messages, render_request, render_text
from playground.request import ChatParams, ChatRequest


def test_lists_variables_from_system_prompt_messages_and_text_parts():
    messages = [
        {"role": "system", "content": "You work for {{ company }}."},
        {"role": "user", "content": [{"type": "text", "text": "{% if tone %}Be {{tone}}.{% endif %} {{question}}"}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:{{not_a_var}}"}}]},
    ]
    assert prompt_variables(messages) == ["company", "question", "tone"]


def test_renders_into_a_new_request_and_leaves_the_template_alone():
    request = ChatRequest(
        model="gpt-4.1-mini",
        messages=[{"role": "system", "content": "From {{company}}"}, {"role": "user", "content": "Hi {{name}}!"}],
        params=ChatParams(temperature=0.2),
        response_format={"type": "json_object"},
    )
    rendered = render_request(request, {"company": "Acme", "name": "Ana"})
    assert [m["content"] for m in rendered.messages] == ["From Acme", "Hi Ana!"]
    assert request.messages[1]["content"] == "Hi {{name}}!"
    assert rendered.params.temperature == 0.2 and rendered.response_format == {"type": "json_object"}
    assert rendered.params is not request.params


def test_every_missing_variable_is_named_before_sending():
    with pytest.raises(PlaygroundError) as caught:
        render_messages([{"role": "user", "content": "{{a}} {{b}} {{c}}"}], {"b": "x"})
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert caught.value.details["missing"] == ["a", "c"]
    assert "a, c" in caught.value.message


def test_an_attribute_that_does_not_exist_is_an_error_not_an_empty_string():
    with pytest.raises(PlaygroundError, match="could not be filled"):
        render_text("{{ user.name }}", {"user": {"id": 1}})


def test_the_sandbox_blocks_reaching_python_internals():
    with pytest.raises(PlaygroundError, match="sandbox"):
        render_text("{{ x.__class__.__mro__[1].__subclasses__() }}", {"x": ""})


def test_syntax_errors_name_the_line():
    with pytest.raises(PlaygroundError, match="line 2"):
        prompt_variables([{"role": "user", "content": "fine\n{{ broken"}])


def test_text_without_markup_is_returned_as_is_and_values_are_not_escaped():
    assert render_text("a { b } c", {}) == "a { b } c"
    assert render_text("{{x}}", {"x": "<b>&</b>"}) == "<b>&</b>"
