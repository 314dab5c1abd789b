import pytest

from playground.conversation import Conversation, ErrorInfo, ImageAttachment, Status
from playground.errors import ErrorKind, PlaygroundError


def test_to_api_puts_system_prompt_first_and_images_as_parts():
    conversation = Conversation()
    image = ImageAttachment(name="a.png", url="data:image/png;base64,iVBORw0KGgo=", detail="low")
    conversation.add_user("What is this?", [image])
    api = conversation.to_api("Be brief.")
    assert api[0] == {"role": "system", "content": "Be brief."}
    assert api[1]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": image.url, "detail": "low"}},
    ]
    assert image.payload() == b"\x89PNG\r\n\x1a\n"


def test_remote_image_has_no_payload():
    assert ImageAttachment(name="u", url="https://example.com/a.png").payload() is None


def test_failed_reply_without_text_is_not_sent_but_partial_text_is():
    conversation = Conversation()
    conversation.add_user("hi")
    reply = conversation.start_reply("m")
    reply.status = Status.FAILED
    reply.error = ErrorInfo(ErrorKind.SERVER, "boom")
    assert [m["role"] for m in conversation.to_api()] == ["user"]
    reply.content = "partial"
    assert [m["role"] for m in conversation.to_api()] == ["user", "assistant"]


def test_edit_truncates_everything_after():
    conversation = Conversation()
    first = conversation.add_user("one")
    conversation.start_reply("m").content = "reply one"
    conversation.add_user("two")
    conversation.edit_and_truncate(first.id, "one, edited")
    assert [m.content for m in conversation.messages] == ["one, edited"]


def test_only_user_messages_can_be_edited():
    conversation = Conversation()
    conversation.add_user("q")
    reply = conversation.start_reply("m")
    with pytest.raises(PlaygroundError):
        conversation.edit_and_truncate(reply.id, "x")


def test_rewind_drops_trailing_replies_only():
    conversation = Conversation()
    conversation.add_user("q1")
    conversation.start_reply("m").content = "a1"
    conversation.add_user("q2")
    conversation.start_reply("m").content = "a2"
    conversation.rewind_for_retry()
    assert [m.content for m in conversation.messages] == ["q1", "a1", "q2"]
    assert conversation.ends_with_user_turn()


def test_settle_interrupted_marks_streaming_as_stopped():
    conversation = Conversation()
    conversation.add_user("q")
    reply = conversation.start_reply("m")
    reply.content = "half"
    conversation.settle_interrupted()
    assert reply.status is Status.STOPPED and reply.is_partial and reply.content == "half"


def test_delete_unknown_id_raises():
    with pytest.raises(KeyError):
        Conversation().delete("nope")
