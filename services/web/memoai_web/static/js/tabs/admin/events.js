// Admin: the sign-in audit trail, filtered by event type and user name, a page
// at a time ("Show more" keeps the filters of the list on screen).

import { get } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, number, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { $ } from "./shared.js";

let ctx;

const EVENTS_PAGE = 50;
let eventsShown = 0;
let eventsQuery = null; // the filters of the list on screen, for "Show more"

/** The first page for the form's filters, or (more) the next page of the same list. */
export async function loadEvents({ more = false } = {}) {
  const box = document.querySelector("#admin-events .events-states");
  const moreButton = slot(box, "more");
  if (!more) {
    showState(box, "loading");
    const form = $("event-filters");
    eventsQuery = new URLSearchParams();
    const type = form.elements.event_type.value;
    const username = form.elements.username.value.trim();
    if (type) eventsQuery.set("event_type", type);
    if (username) eventsQuery.set("username", username);
    eventsShown = 0;
  }
  const query = new URLSearchParams(eventsQuery);
  query.set("limit", String(EVENTS_PAGE));
  query.set("offset", String(eventsShown));
  moreButton.disabled = true;
  try {
    const { data } = await get(`/admin/auth/events?${query}`);
    const rows = slot(box, "rows");
    if (!more) clear(rows);
    for (const item of data.items) {
      rows.append(el(
        "tr",
        {},
        el("td", { class: "num" }, dateTime(item.created_at)),
        el("td", {}, el("code", {}, item.event_type)),
        el("td", {}, item.username ?? "—"),
        el("td", {}, el("span", { class: item.success ? "result-chip result-ok" : "result-chip result-bad" }, item.success ? t("admin.success") : t("admin.failure"))),
        el("td", {}, item.ip_address ?? "—"),
      ));
    }
    eventsShown += data.items.length;
    slot(box, "total").textContent = t("admin.eventsShown", { shown: number(eventsShown), total: number(data.total) });
    moreButton.hidden = eventsShown >= data.total || data.items.length === 0;
    showState(box, eventsShown ? "ready" : "empty");
  } catch (error) {
    if (more) ctx.toast(errorMessage(error));
    else showError(box, errorMessage(error), () => loadEvents());
  } finally {
    moreButton.disabled = false;
  }
}

export function init(context) {
  ctx = context;
  $("event-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadEvents();
  });
  slot(document.querySelector("#admin-events .events-states"), "more")
    .addEventListener("click", () => loadEvents({ more: true }));
}
