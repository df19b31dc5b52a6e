"""The app's tabs, in order. A later feature adds its tab here, plus a template
partial `templates/tabs/<id>.html` and a module `static/js/tabs/<id>.js`.

`when` says who sees a tab: "always", or only in debug mode ("debug") or to an
administrator ("admin"); the browser reveals the latter once it knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Tab:
    id: str
    icon: str
    when: Literal["always", "debug", "admin"] = "always"

    @property
    def label_key(self) -> str:
        return f"tab.{self.id}"


TABS: tuple[Tab, ...] = (
    Tab("write", icon="pen"),
    Tab("overall", icon="gauge"),
    Tab("detailed", icon="comment"),
    Tab("coach", icon="chat"),
    Tab("progress", icon="chart"),
    # Integrations issue: bulk upload and API tokens / webhooks.
    Tab("batches", icon="doc"),
    Tab("integrations", icon="plug"),
    Tab("help", icon="help"),
    # Administration (issue #6): Debug for admins (debug data is admin-only), Admin last.
    Tab("debug", icon="bug", when="debug"),
    Tab("admin", icon="gear", when="admin"),
)
DEFAULT_TAB = TABS[0].id
