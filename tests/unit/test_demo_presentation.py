"""Presentation settings from the operator's configuration, and what the presentation view may show."""

from __future__ import annotations

import pytest

from playground.demo import PresentationSettings, PresentationView, load_presentation_settings, presentation_requested
from playground.errors import ErrorKind, PlaygroundError


def refused(environ, secrets=None) -> str:
    with pytest.raises(PlaygroundError) as caught:
        load_presentation_settings(environ, secrets)
    assert caught.value.kind is ErrorKind.CONFIGURATION
    return caught.value.message


def test_defaults_when_nothing_is_configured():
    settings = load_presentation_settings({})
    assert settings == PresentationSettings(title="Prompt demo", logo=None, viewers_may_send=False)


def test_environment_settings_are_parsed(tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG")
    settings = load_presentation_settings(
        {
            "PLAYGROUND_PRESENTATION_TITLE": "  Acme support bot  ",
            "PLAYGROUND_PRESENTATION_LOGO": str(logo),
            "PLAYGROUND_PRESENTATION_VIEWERS_MAY_SEND": "Yes",
        }
    )
    assert settings.title == "Acme support bot" and settings.logo == str(logo) and not settings.logo_is_url
    assert settings.viewers_may_send is True


def test_secrets_section_is_read_and_the_environment_wins():
    secrets = {
        "presentation": {"title": "From secrets", "logo": "https://cdn.example/logo.svg", "viewers_may_send": True}
    }
    settings = load_presentation_settings({"PLAYGROUND_PRESENTATION_VIEWERS_MAY_SEND": "off"}, secrets)
    assert settings.title == "From secrets" and settings.logo_is_url and settings.viewers_may_send is False


def test_a_bad_flag_names_the_variable_and_the_value():
    message = refused({"PLAYGROUND_PRESENTATION_VIEWERS_MAY_SEND": "maybe"})
    assert "PLAYGROUND_PRESENTATION_VIEWERS_MAY_SEND" in message and "'maybe'" in message and "true or false" in message


def test_a_missing_logo_file_and_a_non_image_are_refused_with_the_path(tmp_path):
    missing = tmp_path / "nope.png"
    assert f"no file at {missing}" in refused({"PLAYGROUND_PRESENTATION_LOGO": str(missing)})
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert "not an image file" in refused({"PLAYGROUND_PRESENTATION_LOGO": str(text)})
    assert "only http(s) URLs" in refused({"PLAYGROUND_PRESENTATION_LOGO": "ftp://host/logo.png"})


def test_secrets_errors_name_the_secrets_key_and_unknown_keys_are_refused():
    message = refused({}, {"presentation": {"title": "", "colour": "red"}})
    assert "title in the [presentation] section of secrets.toml" in message
    assert "colour in the [presentation] section of secrets.toml: unknown setting" in message
    assert "must be a table" in refused({}, {"presentation": "Acme"})


def test_the_url_form_of_the_toggle():
    assert presentation_requested({"present": "1"}) and presentation_requested({"present": ["0", "true"]})
    assert not presentation_requested({}) and not presentation_requested({"present": "no"})


def test_what_the_view_shows_for_the_owner_the_presenter_and_a_viewer():
    settings = PresentationSettings(viewers_may_send=True)
    owner = PresentationView(settings)
    assert owner.shows_settings and owner.may_send and owner.may_change_connection and not owner.presentation
    presenting = PresentationView(settings, presenting=True)
    assert presenting.presentation and not presenting.shows_settings and presenting.may_send
    viewer = PresentationView(settings, viewer_may_send=False)
    assert viewer.presentation and not viewer.shows_settings and not viewer.may_send
    assert not viewer.may_change_connection
    assert PresentationView(settings, viewer_may_send=True).may_send
    # The operator's policy caps what a link allows.
    assert not PresentationView(PresentationSettings(viewers_may_send=False), viewer_may_send=True).may_send
