"""The management pages' forms: they parse what a person typed into the services' arguments,
and put the services' refusals back beside the fields they are about. The rules themselves
(scopes, variables, shops) stay in the services and ``validation.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _

from inbox.selectors.for_apps import ShopRef
from scrm.api import ServiceError
from templates_app.models import Material, QuickReply, Scope
from templates_app.validation import MAX_BODY, SHORTCUT_RE

# The versions the page edits: the interface's languages (en, zh-hans). Other versions a reply
# got through the API or an import are kept as they are.
PAGE_LANGUAGES: tuple[str, ...] = tuple(code for code, _name in settings.LANGUAGES)


def body_field(language: str) -> str:
    return "body__" + language.replace("-", "_")


def language_name(language: str) -> str:
    try:
        return str(get_language_info(language)["name_local"])
    except KeyError:
        return language


class ScopedForm(forms.Form):
    """Who may use the item: ``scopes`` are those this person may choose (agents: personal
    only); ``shops`` those they may give a team item to."""

    scope = forms.ChoiceField(label=gettext_lazy("Who can use it"), widget=forms.RadioSelect)
    shop_account_ids = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Shop accounts (team scope)"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, scopes: Sequence[str], shops: Sequence[ShopRef], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Scope.choices)
        self.fields["scope"].choices = [(s, labels[s]) for s in scopes]  # type: ignore[attr-defined]
        self.fields["shop_account_ids"].choices = [  # type: ignore[attr-defined]
            (s.id, f"{s.name} ({s.region})") for s in shops
        ]
        self.fields["scope"].initial = scopes[0]
        if len(shops) == 0:
            del self.fields["shop_account_ids"]


class QuickReplyForm(ScopedForm):
    """Title, shortcut, category, scope and shops, one text per page language, custom fields
    and materials."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=120)
    shortcut = forms.CharField(
        label=gettext_lazy("Shortcut"),
        max_length=41,
        help_text=gettext_lazy("Typed after / in the composer: letters, digits, _ or -."),
    )
    category = forms.CharField(label=gettext_lazy("Category"), max_length=60, required=False)
    default_language = forms.ChoiceField(label=gettext_lazy("Default language"))
    custom_fields = forms.CharField(
        label=gettext_lazy("Custom fields"),
        required=False,
        help_text=gettext_lazy(
            "Names the agent fills in when inserting, separated by spaces (e.g. ship_day)."
        ),
    )
    material_ids = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Materials sent with it"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        scopes: Sequence[str],
        shops: Sequence[ShopRef],
        materials: Sequence[Material],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, scopes=scopes, shops=shops, **kwargs)
        self.fields["default_language"].choices = [  # type: ignore[attr-defined]
            (code, language_name(code)) for code in PAGE_LANGUAGES
        ]
        self.fields["material_ids"].choices = [  # type: ignore[attr-defined]
            (m.id, m.name) for m in materials
        ]
        for code in PAGE_LANGUAGES:
            self.fields[body_field(code)] = forms.CharField(
                label=language_name(code),
                required=False,
                strip=False,
                max_length=MAX_BODY,
                widget=forms.Textarea(attrs={"rows": 5, "lang": code}),
            )

    @classmethod
    def initial_for(cls, reply: QuickReply, shop_ids: list[int], material_ids: list[int]) -> dict:
        bodies = reply.bodies
        return {
            "title": reply.title,
            "shortcut": reply.shortcut,
            "category": reply.category,
            "scope": reply.scope,
            "shop_account_ids": shop_ids,
            "default_language": reply.default_language,
            "custom_fields": " ".join(reply.custom_fields or []),
            "material_ids": material_ids,
            **{body_field(code): bodies.get(code, "") for code in PAGE_LANGUAGES},
        }

    def body_fields(self) -> list[forms.BoundField]:
        return [self[body_field(code)] for code in PAGE_LANGUAGES]

    def clean_shortcut(self) -> str:
        shortcut = self.cleaned_data["shortcut"].strip().lstrip("/").lower()
        if not SHORTCUT_RE.match(shortcut):
            raise forms.ValidationError(_("Letters, digits, _ or - only, at most 40."))
        return shortcut

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        default = data.get("default_language")
        if default and not (data.get(body_field(default)) or "").strip():
            self.add_error(body_field(default), _("The default language needs a text."))
        return data

    def service_fields(self, keep: dict[str, str] | None = None) -> dict[str, Any]:
        """The services' arguments. ``keep``: the reply's versions in other languages than the
        page's, kept unchanged."""
        data = self.cleaned_data
        default = data["default_language"]
        texts = {code: data.get(body_field(code)) or "" for code in PAGE_LANGUAGES}
        translations = {
            code: text for code, text in texts.items() if code != default and text.strip()
        }
        for code, text in (keep or {}).items():
            if code not in PAGE_LANGUAGES and code != default:
                translations[code] = text
        return {
            "title": data["title"],
            "shortcut": data["shortcut"],
            "category": data.get("category") or "",
            "scope": data["scope"],
            "shop_account_ids": list(data.get("shop_account_ids") or []),
            "default_language": default,
            "body": texts[default],
            "translations": translations,
            "custom_fields": (data.get("custom_fields") or "").replace(",", " ").split(),
            "material_ids": list(data.get("material_ids") or []),
        }

    def add_service_error(self, exc: ServiceError) -> None:
        """Put a service's refusal beside the fields it names (the rest above the form)."""
        details = exc.details or {}
        if exc.code == "template_syntax":
            for code, problems in (details.get("problems") or {}).items():
                message = _("A placeholder is malformed (%(problems)s): write {{ name }}.") % {
                    "problems": "; ".join(problems)
                }
                self._add(code, message)
            return
        if exc.code == "template_variables":
            for code, names in (details.get("by_language") or {}).items():
                message = _(
                    "Unknown variables: %(names)s. Use one listed below, or add it to the "
                    "custom fields."
                ) % {"names": ", ".join(names)}
                self._add(code, message)
            return
        if exc.code == "reply_blocked" and details.get("by_language"):
            for code, matches in (details.get("by_language") or {}).items():
                words = ", ".join(dict.fromkeys(f"“{m['text']}”" for m in matches))
                self._add(
                    code, _("Blocked by the sensitive-word policy: %(words)s.") % {"words": words}
                )
            return
        placed = False
        for name, messages in details.items():
            if name in self.fields and isinstance(messages, list):
                for message in messages:
                    self.add_error(name, _(str(message)))
                placed = True
            elif name in ("body", "translations") and isinstance(messages, list):
                for message in messages:
                    self.add_error(None, _(str(message)))
                placed = True
        if not placed:
            self.add_error(None, _(exc.message))

    def _add(self, language: str, message: str) -> None:
        field = body_field(language)
        self.add_error(field if field in self.fields else None, message)


class MaterialUploadForm(ScopedForm):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("JPEG, PNG, GIF or WebP image, or a PDF."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)


class MaterialLinkForm(ScopedForm):
    url = forms.URLField(label=gettext_lazy("Link"), max_length=1000, assume_scheme="https")
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("A CSV or JSON file as exported here."),
    )
