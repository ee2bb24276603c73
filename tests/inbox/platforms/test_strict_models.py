"""The strict model check (strict_models) refuses what the API would never send, so the
conformance test cannot pass by checking nothing. Run against the client's real generated
models."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tiktok_shop_api import TokenSet
from tiktok_shop_api.generated import models

from tests.inbox.platforms import strict_models

CONVERSATIONS: dict[str, Any] = {
    "code": 0,
    "message": "Success",
    "request_id": "202612030000000000000000000001",
    "data": {
        "conversations": [
            {
                "id": "7300000000000000001",
                "create_time": 1764720000,
                "unread_count": 1,
                "participant_count": 2,
                "can_send_message": True,
                "participants": [
                    {"user_id": "7400000000000000001", "role": "BUYER", "nickname": "Emily R."}
                ],
                "latest_message": {
                    "id": "7500000000000000001",
                    "type": "TEXT",
                    "content": '{"content":"hi"}',
                    "create_time": 1764720000,
                    "is_visible": True,
                    "sender": {"im_user_id": "7600000000000000001", "role": "BUYER"},
                },
            }
        ],
        "next_page_token": "",
    },
}


def changed(path: list[str | int], value: Any) -> dict[str, Any]:
    """CONVERSATIONS with the value at ``path`` set (or deleted, for ``...``)."""
    raw = copy.deepcopy(CONVERSATIONS)
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


CONVERSATION = ["data", "conversations", 0]


def test_a_fitting_answer_passes_and_the_client_parses_it() -> None:
    strict_models.check(CONVERSATIONS, models.GetConversationsResponse)
    parsed = models.GetConversationsResponse.from_dict(CONVERSATIONS)
    assert parsed.data.conversations[0].latest_message.type_ == "TEXT"


def test_an_unknown_field_fails_at_any_depth() -> None:
    raw = changed([*CONVERSATION, "latest_message", "sender", "sender_role"], "BUYER")

    with pytest.raises(strict_models.ModelMismatch) as failure:
        strict_models.check(raw, models.GetConversationsResponse)

    assert failure.value.problems == [
        "$.data.conversations[0].latest_message.sender.sender_role: unknown field "
        "(not in GetConversationsResponseDataConversationLatestMessageSender)"
    ]
    # The client itself would have accepted it silently.
    models.GetConversationsResponse.from_dict(raw)


def test_a_null_where_the_type_does_not_admit_none_fails() -> None:
    raw = changed([*CONVERSATION, "latest_message"], None)

    problems = strict_models.problems(raw, models.GetConversationsResponse)

    assert len(problems) == 1
    assert problems[0].startswith("$.data.conversations[0].latest_message: null")


def test_a_null_is_accepted_where_the_model_declares_none() -> None:
    # ConsignOrder.tracking_number is declared ``None | str | Unset``.
    tracking = models.GetFBTMCFOrderStatusWebhookDataMcfOrderConsignOrder
    assert strict_models.problems({"tracking_number": None}, tracking) == []
    assert strict_models.problems({"tracking_number": 5}, tracking) != []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ([*CONVERSATION, "create_time"], "1764720000", "string '1764720000', expected an integer"),
        ([*CONVERSATION, "unread_count"], True, "boolean True, expected an integer"),
        ([*CONVERSATION, "can_send_message"], "true", "string, expected boolean"),
        ([*CONVERSATION, "id"], 7300000000000000001, "number, expected string"),
        ([*CONVERSATION, "participants"], {"role": "BUYER"}, "object, expected an array"),
        (
            [*CONVERSATION, "participants", 0],
            "BUYER",
            "string, expected an object (GetConversationsResponseDataConversationParticipant)",
        ),
        (["data"], [], "array, expected an object (GetConversationsResponseData)"),
    ],
)
def test_a_wrong_json_type_fails(path: list[str | int], value: Any, expected: str) -> None:
    raw = changed(path, value)

    problems = strict_models.problems(raw, models.GetConversationsResponse)

    assert len(problems) == 1 and problems[0].endswith(expected), problems


def test_json_keys_come_from_from_dict_not_attribute_names() -> None:
    # The attribute is ``type_``; on the wire it is ``type``.
    assert (
        strict_models.problems({"type": "TEXT", "content": "{}"}, models.SendMessageRequest) == []
    )
    problems = strict_models.problems({"type_": "TEXT", "content": "{}"}, models.SendMessageRequest)
    assert "$.type_: unknown field (not in SendMessageRequest)" in problems
    assert "$.type: required by SendMessageRequest, missing" in problems


def test_enums_and_literals_are_closed() -> None:
    assert strict_models.problems({"type": "AUDIO", "content": "{}"}, models.SendMessageRequest)
    assert strict_models.problems({"type": 13, "data": {}}, models.NewMessageWebhook)
    assert strict_models.problems({"type": "14"}, models.NewMessageWebhook)
    assert strict_models.problems({"type": 14}, models.NewMessageWebhook) == []


def test_the_token_set_dataclass_is_checked_by_its_field_names() -> None:
    token = {
        "access_token": "a",
        "access_token_expire_in": 1764720000,
        "refresh_token": "r",
        "refresh_token_expire_in": 1767312000,
        "granted_scopes": ["seller.customer_service"],
    }
    assert strict_models.problems(token, TokenSet) == []
    # ``open_id: str | None = None`` means "absent when TikTok does not send it".
    assert strict_models.problems({**token, "open_id": None}, TokenSet)
    assert strict_models.problems({**token, "user_type": "0"}, TokenSet)
    assert strict_models.problems({**token, "scopes": []}, TokenSet)
    assert strict_models.problems(
        {k: v for k, v in token.items() if k != "refresh_token"}, TokenSet
    )


def test_a_string_outside_the_values_the_doc_text_lists_fails() -> None:
    # SearchReturnsResponseDataReturnOrder.return_status is typed ``str``; its doc text lists
    # the statuses ("Available values: - `RETURN_OR_REFUND_REQUEST_PENDING` ...").
    order = models.SearchReturnsResponseDataReturnOrder
    assert strict_models.problems({"return_status": "AWAITING_BUYER_SHIP"}, order) == []

    problems = strict_models.problems({"return_status": "PENDING"}, order)

    assert len(problems) == 1
    assert problems[0].startswith(
        "$.return_status: 'PENDING' is not among the values its doc text lists"
    )
    # Unticked lists after "Possible enumerations:" count too (a message's type).
    message = models.GetConversationMessagesResponseDataMessage
    assert strict_models.problems({"type": "AUDIO"}, message)
    assert strict_models.problems({"type": "LOGISTICS_CARD"}, message) == []


def test_examples_in_the_doc_text_are_not_read_as_values() -> None:
    # A message's content lists an example per type ("- TEXT:", "- IMAGE:"): not its values.
    message = models.GetConversationMessagesResponseDataMessage
    assert "content" not in strict_models.documented_values(message)
    assert strict_models.problems({"content": '{"content": "hi"}'}, message) == []
