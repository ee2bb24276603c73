"""factory_boy factories for every app (shared: later apps add theirs here)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from inbox.models import Member, Organisation, Role, ShopAccount, ShopMembership

PASSWORD = "correct-horse-battery"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Seller {n}")
    slug = factory.Sequence(lambda n: f"seller-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.AGENT
    time_zone = "Asia/Shanghai"


class ShopAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopAccount

    organisation = factory.SubFactory(OrganisationFactory)
    platform = "tiktok_shop"
    platform_shop_id = factory.Sequence(lambda n: f"75{n:017d}")
    name = factory.Sequence(lambda n: f"Shop {n}")
    region = "US"
    time_zone = "America/Los_Angeles"


class ShopMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopMembership

    user = factory.SubFactory(UserFactory)
    shop_account = factory.SubFactory(ShopAccountFactory)


def make_person(org: Organisation, role: str = Role.AGENT, shops=(), username: str | None = None):
    """A user with a Member row in ``org`` and memberships of ``shops``."""
    kwargs = {"username": username} if username else {}
    user = UserFactory(**kwargs)
    MemberFactory(user=user, organisation=org, role=role)
    for shop in shops:
        ShopMembershipFactory(user=user, shop_account=shop)
    return user


# --- templates_app: quick replies -------------------------------------------------------------


class QuickReplyFactory(factory.django.DjangoModelFactory):
    """An organisation-wide quick reply by default; pass scope/owner or shop_accounts=[...]."""

    class Meta:
        model = "templates_app.QuickReply"
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    scope = "organisation"
    title = factory.Sequence(lambda n: f"Reply {n}")
    shortcut = factory.Sequence(lambda n: f"reply{n}")
    category = ""
    body = "Hello {{ buyer_name }}, thanks for shopping at {{ shop_name }}."

    @factory.post_generation
    def shop_accounts(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.shop_accounts.set(extracted)

    @factory.post_generation
    def _library(obj, create, extracted, **kwargs):
        # What the services do on every change: the picker's in-memory copy must re-sync.
        from templates_app.library import changed

        if create:
            changed(obj.organisation_id)
