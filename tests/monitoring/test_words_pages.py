"""The word-list page over HTTP (Django's test client): supervisors and admins see the lists and
change them, agents and other organisations get a 404, a deactivated person is sent to sign in;
refusals say why (a CSV import line by line) and keep nothing; both languages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from inbox.models import Member
from monitoring.models import AllowEntry, AuditEvent, CategoryRule, WordEntry, WordList
from monitoring.words.cache import cache_clear

pytestmark = pytest.mark.django_db
URL = "/monitoring/words/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache_clear()


def signed_in(user, lang: str = "en") -> Client:
    Member.objects.filter(user=user).update(language=lang)
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def test_the_supervisor_sees_the_seeded_list_grouped_by_category(world):
    page = html(signed_in(world.supervisor_a).get(URL))
    assert "Word lists" in page and 'data-category="off_platform"' in page
    assert 'data-category="phone"' in page  # the detectors' actions too
    assert WordEntry.objects.filter(word_list__organisation=world.org_a).count() > 20
    assert 'href="/monitoring/words/"' in page  # the navigation's link
    assert 'aria-current="page">Word lists' in page


@pytest.mark.parametrize("who", ["agent_a1", "supervisor_b"])
def test_agents_and_other_organisations_get_a_404(world, who):
    client = signed_in(getattr(world, who))
    shop = world.shop_a1.id
    if who == "agent_a1":
        assert client.get(URL).status_code == 404
        assert client.get(URL + "export.csv").status_code == 404
    assert client.get(f"{URL}?shop={shop}").status_code == 404
    assert client.get(f"{URL}export.csv?shop={shop}").status_code == 404
    post = {"action": "add", "word": "zebracode", "category": "custom"}
    assert client.post(f"{URL}?shop={shop}", post).status_code == 404
    assert not WordEntry.objects.filter(word="zebracode").exists()
    if who == "agent_a1":
        inbox = signed_in(world.agent_a1).get(reverse("inbox:workspace"))
        assert inbox.status_code == 200 and "/monitoring/words/" not in html(inbox)


def test_a_deactivated_supervisor_is_sent_to_sign_in(world):
    client = signed_in(world.supervisor_a)
    world.supervisor_a.is_active = False
    world.supervisor_a.save(update_fields=["is_active"])
    response = client.post(URL, {"action": "add", "word": "zebracode", "category": "custom"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not WordEntry.objects.filter(word="zebracode").exists()


def test_add_edit_remove_a_word_and_set_a_category(world):
    client = signed_in(world.supervisor_a)
    response = client.post(
        URL, {"action": "add", "word": "zebracode", "category": "custom", "word_action": "mask"}
    )
    assert response.status_code == 302 and response["Location"] == URL
    entry = WordEntry.objects.get(word="zebracode")
    page = html(client.get(URL))
    assert "Word added." in page and f'data-entry="{entry.id}"' in page
    client.post(
        URL,
        {
            "action": "update",
            "entry": entry.id,
            "word": "zebra-code",
            "category": "abuse",
            "word_action": "",
        },
    )
    entry.refresh_from_db()
    assert (entry.word, entry.category, entry.action) == ("zebra-code", "abuse", "")
    client.post(URL, {"action": "category", "category": "abuse", "category_action": "flag"})
    assert CategoryRule.objects.get(category="abuse").action == "flag"
    client.post(URL, {"action": "remove", "entry": entry.id})
    assert not WordEntry.objects.filter(pk=entry.id).exists()
    audited = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"word_list.entry_added", "word_list.entry_updated", "word_list.entry_removed"} <= (
        audited
    )


def test_a_refused_word_says_why_and_keeps_what_was_typed(world):
    client = signed_in(world.supervisor_a)
    client.post(URL, {"action": "add", "word": "zebracode", "category": "custom"})
    response = client.post(URL, {"action": "add", "word": "ZEBRACODE", "category": "custom"})
    assert response.status_code == 400
    page = html(response)
    assert "already in the list (as “zebracode”)" in page and 'value="ZEBRACODE"' in page
    assert client.post(URL, {"action": "nonsense"}).status_code == 400
    assert client.post(URL, {"action": "remove", "entry": "99999999"}).status_code == 404


def test_a_shop_override_and_its_allow_action(world):
    client = signed_in(world.supervisor_a)
    shop = world.shop_a2.id
    url = f"{URL}?shop={shop}"
    page = html(client.get(url))
    assert "The override of A2 UK" in page and 'value="allow"' in page
    assert not WordList.objects.filter(shop_account_id=shop).exists()  # viewing creates nothing
    response = client.post(
        url, {"action": "add", "word": "zebracode", "category": "custom", "word_action": "allow"}
    )
    assert response.status_code == 302 and response["Location"] == url
    assert WordEntry.objects.get(word_list__shop_account_id=shop).action == "allow"
    assert "own override" in html(client.get(URL))
    refused = client.post(
        URL, {"action": "add", "word": "lionmark", "category": "custom", "word_action": "allow"}
    )
    assert refused.status_code == 400


def test_allow_list_phrases_and_domains(world):
    client = signed_in(world.supervisor_a)
    client.post(
        URL, {"action": "allow_add", "kind": "domain", "value": "https://shop.example.com/x"}
    )
    client.post(URL, {"action": "allow_add", "kind": "phrase", "value": "Wechat Pay"})
    page = html(client.get(URL))
    assert "shop.example.com" in page and "Wechat Pay" in page
    domain = AllowEntry.objects.get(kind="domain")
    client.post(URL, {"action": "allow_remove", "allow": domain.id})
    assert not AllowEntry.objects.filter(kind="domain").exists()
    bad = client.post(URL, {"action": "allow_add", "kind": "domain", "value": "not a domain"})
    assert bad.status_code == 400 and "example.com" in html(bad)


def test_csv_export_and_import_through_the_page(world):
    client = signed_in(world.supervisor_a)
    client.post(URL, {"action": "add", "word": "=zebracode", "category": "custom"})
    export = client.get(URL + "export.csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    text = export.content.decode()
    assert text.startswith("word,category,action") and "'=zebracode,custom," in text
    upload = SimpleUploadedFile("words.csv", b"word,category,action\nlionmark,abuse,mask\n")
    response = client.post(URL, {"action": "import", "file": upload})
    assert response.status_code == 302
    assert "Imported: 1 added, 0 changed, 0 already there." in html(client.get(URL))
    bad = SimpleUploadedFile(
        "words.csv", b"word,category,action\ntigerline,custom,block\nx,weather,\n"
    )
    refused = client.post(URL, {"action": "import", "file": bad})
    assert refused.status_code == 400
    page = html(refused)
    assert "Nothing was imported: 1 line(s) have errors." in page and "Line 3" in page
    assert not WordEntry.objects.filter(word="tigerline").exists()


def test_the_page_in_chinese(world):
    client = signed_in(world.supervisor_a, "zh-hans")
    page = html(client.get(URL))
    assert "敏感词" in page and "试一试" in page
    client.post(URL, {"action": "add", "word": "zebracode", "category": "custom"})
    assert "已添加" in html(client.get(URL))


def test_the_page_makes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    client = signed_in(world.supervisor_a)
    client.get(URL)  # seeds the list
    with django_assert_max_num_queries(20):
        assert client.get(URL).status_code == 200
    client.post(URL, {"action": "add", "word": "zebracode", "category": "custom"})
    with django_assert_max_num_queries(20):
        assert client.get(f"{URL}?shop={world.shop_a1.id}").status_code == 200
