"""The app's tabs, in order. A later feature adds its tab here, plus a template
partial `templates/tabs/<id>.html` and a module `static/js/tabs/<id>.js`.

`when` says who sees a tab: "always", or only to a signed-in user ("user"), to a
coach or administrator ("coach"), in debug mode ("debug") or to an administrator
("admin"); the browser reveals the others once it knows. A tab with `nav=False`
has no entry in the tab list: something else links to it (Account: the header's
user link).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Tab:
    id: str
    icon: str
    when: Literal["always", "user", "coach", "debug", "admin"] = "always"
    nav: bool = True

    @property
    def label_key(self) -> str:
        return f"tab.{self.id}"


TABS: tuple[Tab, ...] = (
    Tab("write", icon="pen"),
    Tab("overall", icon="gauge"),
    Tab("detailed", icon="comment"),
    Tab("coach", icon="chat"),
    Tab("progress", icon="chart"),
    # Coaches and cohorts (issue 16): a writer's assignments; the coach area.
    Tab("assignments", icon="task", when="user"),
    # Integrations issue: bulk upload and API tokens / webhooks.
    Tab("batches", icon="doc"),
    Tab("integrations", icon="plug"),
    Tab("help", icon="help"),
    Tab("cohorts", icon="cohort", when="coach"),
    # Administration (issue #6): Debug for admins (debug data is admin-only), Admin last.
    Tab("debug", icon="bug", when="debug"),
    Tab("admin", icon="gear", when="admin"),
    # The signed-in user's own account (password change): opened from the header.
    Tab("account", icon="user", when="user", nav=False),
)
DEFAULT_TAB = TABS[0].id
