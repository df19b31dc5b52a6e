// Admin: the active sessions, and revoking one (never the admin's own).

import { get, request } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { $, confirmAction, enc } from "./shared.js";

let ctx;

export async function loadSessions() {
  const box = document.querySelector("#admin-sessions .sessions-states");
  showState(box, "loading");
  try {
    const { data } = await get("/admin/sessions?active=true");
    const rows = clear(slot(box, "rows"));
    for (const item of data.items) {
      const who = item.username ?? t("admin.anonymous");
      rows.append(el(
        "tr",
        {},
        el("th", { scope: "row" }, who),
        el("td", {}, item.ip_address ?? "—"),
        el("td", { class: "agent", title: item.user_agent ?? "" }, item.user_agent ?? "—"),
        el("td", { class: "num" }, item.last_activity ? dateTime(item.last_activity) : "—"),
        el(
          "td",
          {},
          item.current
            ? el("span", { class: "kind-chip" }, t("admin.thisSession"))
            : el("button", { type: "button", class: "btn btn-small", "data-revoke": item.id, "data-who": who, "aria-label": t("admin.revokeLabel", { user: who }) }, t("admin.revoke")),
        ),
      ));
    }
    showState(box, data.items.length ? "ready" : "empty");
  } catch (error) {
    showError(box, errorMessage(error), () => loadSessions());
  }
}

async function revoke(id, who) {
  const answer = await confirmAction({ title: t("admin.revokeTitle"), message: t("admin.revokeBody", { user: who }), action: t("admin.revoke") });
  if (!answer.ok) return;
  try {
    await request("DELETE", `/admin/sessions/${enc(id)}`);
    ctx.announce(t("admin.revoked", { user: who }));
  } catch (error) {
    ctx.announce(errorMessage(error));
  }
  loadSessions();
}

export function init(context) {
  ctx = context;
  $("sessions-refresh").addEventListener("click", loadSessions);
  slot($("admin-sessions"), "rows").addEventListener("click", (event) => {
    const button = event.target.closest("[data-revoke]");
    if (button) revoke(button.dataset.revoke, button.dataset.who);
  });
}
