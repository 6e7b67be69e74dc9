"""``keel dev``'s mail catcher pages and its FCM emulator, in-process."""

from __future__ import annotations

import json

from infra.local.mailbox import email_page, inbox_page
from infra.local.push import PushEmulator

MAIL = {
    "id": "m-1",
    "source": "Keel <notifications@keel.local>",
    "destinations": ["ada@example.com"],
    "subject": "Welcome, <script>alert(1)</script>",
    "body": "text <b>part</b>",
    "html": '<p>Hello</p><a href="https://example.com/x?a=1&b=2">pay</a>',
    "headers": {"List-Unsubscribe": "<https://api.example.com/u?token=t>"},
}


def test_the_list_links_each_email_and_escapes_what_the_emails_say() -> None:
    page = inbox_page([MAIL])
    assert "href='/_local/emails/m-1'" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page


def test_an_email_renders_its_html_in_a_sandboxed_frame_with_its_links() -> None:
    page = email_page(MAIL)
    # The HTML is the frame's document (escaped once into srcdoc), where no script may run
    assert "<iframe sandbox='allow-popups allow-popups-to-escape-sandbox' srcdoc=\"&lt;base target=_blank&gt;" in page
    assert "href=&quot;https://example.com/x?a=1&amp;b=2&quot;" in page
    assert "text &lt;b&gt;part&lt;/b&gt;" in page
    assert "List-Unsubscribe" in page


def test_the_fcm_emulator_accepts_a_message_and_lists_it() -> None:
    fcm = PushEmulator()
    status, answer = fcm.send(
        "keel-local", json.dumps({"message": {"token": "t-1", "notification": {"title": "Hi"}}}).encode()
    )
    assert (status, answer) == (200, {"name": "projects/keel-local/messages/1"})
    (sent,) = fcm.sent()
    assert (sent["token"], sent["notification"]) == ("t-1", {"title": "Hi"})


def test_a_stale_token_answers_unregistered_as_fcm_does() -> None:
    status, answer = PushEmulator().send("p", json.dumps({"message": {"token": "abc-stale-1"}}).encode())
    assert status == 404
    assert answer["error"]["details"][0]["errorCode"] == "UNREGISTERED"


def test_a_message_without_a_token_is_refused() -> None:
    for body in (b"not json", b'{"message": {}}', b"[]"):
        assert PushEmulator().send("p", body)[0] == 400
    assert PushEmulator().sent() == []
