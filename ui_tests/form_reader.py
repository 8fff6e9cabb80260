"""Reading a rendered schema form (a run form's Parameters, a block's fields) in either UI into `FormField`s.

One script per UI walks the DOM as it is drawn, so the checks see labels, help texts, toggles and errors
as a person does. v2 (React, Prefect 3.9's default): each field is a `div.group` holding a
`label[data-slot=label]`, its help `p`, and a `fieldset` with the control. v1 (Vue, prefect-ui-library):
each field is a `div.schema-form-property` (see `READ_V1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page

OPTIONAL = re.compile(r"\s*\(Optional\)$")

READ_V2 = """root => {
  // A field's group is a div.group whose header holds a label; widgets use "group" for styling too.
  const isField = g => !!g.querySelector(':scope > div label[data-slot="label"]');
  const outer = g => (g.parentElement ? g.parentElement.closest('div.group') : null);
  const groupOf = el => {
    for (let g = el ? el.closest('div.group') : null; g; g = outer(g)) if (isField(g)) return g;
    return null;
  };
  const up = group => groupOf(group.parentElement);
  const labelOf = group => group.querySelector(':scope > div label[data-slot="label"]');
  // Labels outside a field group (e.g. a page's own "Block Name") are not schema fields.
  return [...root.querySelectorAll('label[data-slot="label"]')].filter(label => groupOf(label)).map(label => {
    const group = groupOf(label);
    const own = el => groupOf(el) === group;
    const parents = [];
    for (let g = up(group); g && root.contains(g); g = up(g)) parents.unshift(labelOf(g) ? labelOf(g).innerText : '?');
    const help = label.parentElement.querySelector(':scope > p');
    const picker = [...group.querySelectorAll('button[data-slot="popover-trigger"]')].filter(own)[0];
    return {
      label: label.innerText,
      help: help ? help.innerText : null,
      parents,
      tabs: [...group.querySelectorAll('[role="tab"]')].filter(own).map(t => t.innerText),
      errors: [...group.querySelectorAll('p.text-destructive')].filter(own).map(p => p.innerText),
      picker: picker ? picker.innerText : null,
      control: label.htmlFor ? `[id="${label.htmlFor}"]` : null,
    };
  });
}"""

READ_V1 = """root => {
  // A run form's field is a div.schema-form-property (a p-label): its header holds the label and the help
  // (rendered markdown), its body the type toggle (a button group) and the control, its message the error.
  // A block form uses the older layout: a p-label.schema-form-input whose header's <label> is the label.
  const FIELD = '.p-label.schema-form-property, .p-label.schema-form-input';
  const fieldOf = el => (el ? el.closest(FIELD) : null);
  const labelOf = f => f.querySelector(':scope > .p-label__header .schema-form-property__label')
    || (f.classList.contains('schema-form-input') ? f.querySelector(':scope > .p-label__header > label') : null);
  const fields = [...root.querySelectorAll(FIELD)].filter(f => labelOf(f));
  return fields.map((field, index) => {
    field.setAttribute('data-tier-field', String(index));
    const own = el => fieldOf(el) === field;
    const parents = [];
    for (let g = fieldOf(field.parentElement); g && root.contains(g); g = fieldOf(g.parentElement))
      parents.unshift(labelOf(g) ? labelOf(g).innerText : '?');
    const help = field.querySelector(':scope > .p-label__header .p-label__description');
    const picker = [...field.querySelectorAll('.p-select-button__value')].filter(own)[0];
    return {
      label: labelOf(field).innerText,
      help: help ? help.innerText : null,
      parents,
      tabs: [...field.querySelectorAll(':scope > .p-label__body > .p-button-group > button')].map(b => b.innerText),
      errors: [...field.querySelectorAll(':scope > .p-label__message')].map(m => m.innerText),
      picker: picker ? picker.innerText : null,
      control: `[data-tier-field="${index}"] > .p-label__body textarea, ` +
               `[data-tier-field="${index}"] > .p-label__body input`,
    };
  });
}"""

READERS = {"v1": READ_V1, "v2": READ_V2}
# Where each UI draws a run form's parameters: after the "Parameters" heading (v2: its next sibling; v1: the
# schema input around it).
PARAMETERS_HEADING = "[...document.querySelectorAll('h3')].find(h => h.textContent.trim() === 'Parameters')"
PARAMETERS_ROOT = {
    "v2": f"() => {{ const h = {PARAMETERS_HEADING}; return h && h.nextElementSibling; }}",
    "v1": f"() => {{ const h = {PARAMETERS_HEADING}; return h && h.closest('.schema-input'); }}",
}


@dataclass(frozen=True)
class FormField:
    """One field of a form as rendered.

    Attributes:
        label: The label without the UI's " (Optional)" suffix.
        optional: Whether the UI marked it "(Optional)".
        help: The help text under the label, as rendered (innerText: what a person reads).
        parents: Labels of the groups around it, outermost first (e.g. ("Publish request",)).
        tabs: Its type toggle (one tab per `anyOf` branch, e.g. ("ModelScopeCredentials", "None")).
        errors: Validation messages shown next to it.
        picker: Text of its selector button (block pickers, enum selects).
        control: A CSS selector of its text box, for filling it in.
    """

    label: str
    optional: bool
    help: str | None
    parents: tuple[str, ...]
    tabs: tuple[str, ...]
    errors: tuple[str, ...]
    picker: str | None
    control: str | None


def read_fields(page: Page, ui: str, root: str | None = None) -> list[FormField]:
    """Every field under the form's root (by default the run form's Parameters), in page order."""
    script = f"() => {{ const root = ({root or PARAMETERS_ROOT[ui]})(); return root ? ({READERS[ui]})(root) : []; }}"
    fields = []
    for raw in page.evaluate(script):
        label = raw["label"].strip()
        fields.append(
            FormField(
                label=OPTIONAL.sub("", label),
                optional=bool(OPTIONAL.search(label)),
                help=raw["help"],
                parents=tuple(OPTIONAL.sub("", p.strip()) for p in raw["parents"]),
                tabs=tuple(t.strip() for t in raw["tabs"]),
                errors=tuple(e.strip() for e in raw["errors"]),
                picker=raw["picker"],
                control=raw["control"],
            )
        )
    return fields
