"""inbox.masking: the issue's formats (``+1 ***-***-4821``, ``l***@gmail.com``, ``Li**``, the
city, region and country of an address), and never the input, whatever it is."""

from __future__ import annotations

import pytest

from inbox.masking import KINDS, mask


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        # phones: the country code when the value has one, the last 4 digits
        ("phone", "(+1)5550104821", "+1 ***-***-4821"),
        ("phone", "+1 555 010 4821", "+1 ***-***-4821"),
        ("phone", "+15550104821", "+1 ***-***-4821"),
        ("phone", "+8613800138000", "+86 ***-***-8000"),
        ("phone", "+86 138 0013 8000", "+86 ***-***-8000"),
        ("phone", "0044 20 7946 0958", "+44 ***-***-0958"),
        ("phone", "+852 9123 4567", "+852 ***-***-4567"),
        ("phone", "555-010-4821", "***-***-4821"),
        ("phone", "123", "***"),
        ("phone", "+1", "***"),
        # e-mails: the first letter, the domain kept
        ("email", "lina@gmail.com", "l***@gmail.com"),
        ("email", "Li.Na+shop@Example.CO.uk", "L***@example.co.uk"),
        ("email", "jane@localhost", "j***@localhost"),
        ("email", "not-an-email", "***"),
        ("email", "@gmail.com", "***"),
        ("email", "a@", "***"),
        # real names: the first word's first 2 letters, 1 for Chinese
        ("name", "Li Wei", "Li**"),
        ("name", "Jane Doe", "Ja**"),
        ("name", "李伟", "李**"),
        ("name", "王小明", "王**"),
        ("name", "Li", "L**"),
        ("name", "A", "**"),
        ("name", "李", "**"),
        # addresses: city, region, country only
        (
            "address",
            '{"full_address": "1 Main St", "city": "Austin", "region": "Texas",'
            ' "region_code": "US", "postal_code": "78701"}',
            "Austin, Texas, US",
        ),
        ("address", "1 Market St, San Francisco", "***"),
        ("address", "[1, 2]", "***"),
        ("address", "{}", "***"),
        ("address", '{"city": 5}', "***"),
        # empty values, and kinds nobody knows
        ("phone", None, ""),
        ("name", "  ", ""),
        ("email", "", ""),
        ("passport", "E12345678", "***"),
    ],
)
def test_masking_shows_the_issues_formats(kind, value, shown):
    assert mask(kind, value) == shown


NASTY = [
    "x",
    "@",
    "+",
    "(+",
    "++++1",
    "0" * 40,
    "\x00\u200b",
    "🙂🙂🙂",
    "李" * 300,
    '{"city": null}',
    "\ud800",
    "a b",
    "  +  1  ",
    "**",
]


@pytest.mark.parametrize("kind", [*KINDS, "other"])
@pytest.mark.parametrize("value", NASTY)
def test_masking_is_total_and_never_the_input(kind, value):
    shown = mask(kind, value)
    assert isinstance(shown, str)
    assert shown != value
    assert value.strip() == "" or shown != ""


def test_masking_takes_any_object():
    assert mask("phone", 15550104821) == "***-***-4821"
