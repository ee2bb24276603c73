"""A small seeded organisation for the rotation tests: buyers with phones and e-mails,
English and Chinese messages with their search tokens, notes; and the searches whose answers
must not change while keys rotate."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.models import Conversation, Customer, Note
from inbox.selectors.search import customer_ids_matching, message_search
from inbox.services.search_tokens import customer_tokens_write
from scrm.blind import org_index_for
from tests.inbox.builders import conversation_with_messages

# The suite's key (tests/_env.py) and a new one.
OLD_KEYS = "t1:dGVzdC1rZXktZm9yLXNjcm0tc3VpdGUtb25seS0zMmI="
NEW_KEY = "t2:bmV3LWVuY3J5cHRpb24ta2V5LWZvci10ZXN0cy0zMmI="
NEW_INDEX_KEY = "ix2:bmV3LWJsaW5kLWluZGV4LWtleS1mb3ItdGVzdHMtMzI="

BUYERS = [
    # nickname, phone, e-mail, texts
    ("Emily Rose", "+1 415-555-4821", "emily.rose@example.com", ("Where is my parcel?",)),
    ("李小龙", "+86 138 0013 8000", "lxl@example.cn", ("我的包裹什么时候发货", "谢谢")),
    ("Marco Polo", "+39 06 6988 1234", "marco@example.it", ("The parcel arrived damaged",)),
]

SEARCHES = [
    ("messages", "parcel"),
    ("messages", "发货"),
    ("messages", "arrived damaged"),
    ("customers", "emi"),
    ("customers", "李"),
    ("customers", "4155554821"),
    ("customers", "+1 415-555-4821"),
    ("customers", "13800138000"),
    ("customers", "marco@example.it"),
    ("customers", "Marco Polo"),
]


@dataclass
class Seeded:
    organisation_id: int
    shops: list[int]
    conversations: list[Conversation]


def seed(world) -> Seeded:
    """Three buyers of shops a1 and a2 (org A), each with a conversation, a note, a phone and
    an e-mail (written as the profile service does: encrypted, tokens beside)."""
    conversations = []
    for i, (name, phone, email, texts) in enumerate(BUYERS):
        shop = world.shop_a1 if i % 2 == 0 else world.shop_a2
        conversation = conversation_with_messages(shop, buyer=name, texts=texts)
        customer = Customer.objects.get(pk=conversation.customer_id)
        customer.phone, customer.email, customer.real_name = phone, email, f"{name} Real"
        customer.save(update_fields=["phone", "email", "real_name"])
        customer_tokens_write(customer, org_index_for(customer.organisation_id))
        Note.objects.create(conversation=conversation, text=f"note about {name}")
        conversations.append(conversation)
    return Seeded(
        organisation_id=world.org_a.id,
        shops=[world.shop_a1.id, world.shop_a2.id],
        conversations=conversations,
    )


def answers(seeded: Seeded) -> dict[str, list[int]]:
    """What each search finds (ids), as agents would see it."""
    out = {}
    for kind, term in SEARCHES:
        if kind == "messages":
            found = message_search(
                organisation_id=seeded.organisation_id, shops=seeded.shops, term=term
            )
            out[f"{kind}:{term}"] = sorted(m.pk for m in found)
        else:
            index = org_index_for(seeded.organisation_id)
            out[f"{kind}:{term}"] = sorted(customer_ids_matching(index, term))
    return out
