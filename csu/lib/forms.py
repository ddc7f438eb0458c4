"""Form helpers shared by every app's pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.forms.renderers import DjangoTemplates


def add_service_errors(
    form: forms.BaseForm, error: ValidationError, fallback: str | None = None
) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else fallback, errors)
    else:
        form.add_error(fallback, error)


class FirstErrorBoundField(BoundField):
    """A form field that takes the cursor after a failed submit when it is the first in error.

    The page is rendered again by the server: the browser puts the cursor on the field that
    carries ``autofocus``, so the person corrects it without reaching for the mouse. While a
    field has errors, no other field keeps an ``autofocus`` of its own.
    """

    def build_widget_attrs(self, attrs: Any, widget: Any = None) -> Any:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        first = first_error_field(self.form) if self.form.is_bound and self.form.errors else None
        if first is not None:  # errors on the form alone leave the cursor where it starts
            if self.name == first and not widget.is_hidden:
                attrs["autofocus"] = True
            else:
                attrs.pop("autofocus", None)
                if widget.attrs.get("autofocus"):
                    # The widget's own attribute wins over ours unless explicitly cleared.
                    attrs["autofocus"] = False
        return attrs


def first_error_field(form: forms.BaseForm) -> str | None:
    """The name of the first visible field, in the form's order, that has an error."""
    for name, field in form.fields.items():
        if name in form.errors and not field.widget.is_hidden:
            return name
    return None


class FormRenderer(DjangoTemplates):
    """The project's form renderer (``FORM_RENDERER``): every form's fields are
    :class:`FirstErrorBoundField`."""

    bound_field_class = FirstErrorBoundField
