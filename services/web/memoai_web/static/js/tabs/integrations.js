// Integrations: personal API tokens (signed-in users only; the secret is shown
// once) and webhook endpoints with their delivery log and the signing secret.

import { get, post, request } from "../core/api.js";
import { clear, el } from "../core/dom.js";
import { dateTime, number, plural, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { on, state } from "../core/store.js";

let stale = true;
let announce = () => {};

const byId = (id) => document.getElementById(id);

function showProblem(id, message) {
  const box = byId(id);
  box.hidden = !message;
  box.textContent = message ?? "";
}

function signedIn() {
  return state.session?.kind === "user";
}

function reveal(boxId, inputId, secret) {
  byId(inputId).value = secret;
  const box = byId(boxId);
  box.hidden = false;
  box.focus();
}

async function copy(button) {
  const input = byId(button.dataset.copy);
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select(); // no clipboard permission: leave it selected for Ctrl+C
    return;
  }
  announce(t("action.copied"));
}

// ---------------------------------------------------------------- tokens

function tokenRow(token) {
  const dates = [
    t("tokens.created", { date: dateTime(token.created_at) }),
    token.expires_at ? t("tokens.expires", { date: dateTime(token.expires_at) }) : null,
    token.last_used_at ? t("tokens.lastUsed", { date: dateTime(token.last_used_at) }) : t("tokens.neverUsed"),
    token.revoked_at ? t("tokens.revokedOn", { date: dateTime(token.revoked_at) }) : null,
  ].filter(Boolean).join(" · ");
  const action = token.status === "active"
    ? el("button", { type: "button", class: "btn btn-small", "data-revoke": token.id, "aria-label": t("tokens.revokeNamed", { name: token.name }) }, t("tokens.revoke"))
    : el("span", { class: `status-chip status-${token.status === "revoked" ? "failed" : "expired"}` }, t(`tokens.status.${token.status}`));
  return el(
    "tr",
    { "data-token": token.id, "data-status": token.status },
    el("th", { scope: "row" }, token.name, el("span", { class: "token-scopes" }, token.scopes.map((s) => t(`tokens.scope.${s}`)).join(", "))),
    el("td", {}, el("code", {}, `${token.prefix}…`)),
    el("td", { class: "token-dates" }, dates),
    el("td", {}, action),
  );
}

async function loadTokens() {
  const area = byId("tokens-area");
  byId("tokens-anonymous").hidden = signedIn();
  area.hidden = !signedIn();
  if (!signedIn()) return;
  try {
    const { data } = await get("/tokens");
    const rows = clear(byId("token-rows"));
    for (const token of data.items) rows.append(tokenRow(token));
    byId("tokens-empty").hidden = data.items.length > 0;
    showProblem("token-error", null);
  } catch (error) {
    showProblem("token-error", errorMessage(error));
  }
}

async function onCreateToken(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.elements.name.value.trim();
  if (!name) {
    showProblem("token-error", t("tokens.nameMissing"));
    form.elements.name.focus();
    return;
  }
  const button = byId("token-create");
  button.disabled = true;
  try {
    const { data } = await post("/tokens", {
      name,
      scopes: [form.elements.scope.value],
      expires_in_days: Number(form.elements.expires_in_days.value),
    });
    form.elements.name.value = "";
    showProblem("token-error", null);
    byId("tokens-revoked-notice").hidden = true; // said; the new token works
    reveal("token-reveal", "token-secret", data.token);
    await loadTokens();
  } catch (error) {
    showProblem("token-error", errorMessage(error));
  } finally {
    button.disabled = false;
  }
}

async function onRevoke(button) {
  const row = button.closest("tr");
  const name = row.querySelector("th").firstChild.textContent;
  if (!window.confirm(t("tokens.confirmRevoke", { name }))) return;
  button.disabled = true;
  try {
    await request("DELETE", `/tokens/${encodeURIComponent(button.dataset.revoke)}`);
    announce(t("tokens.revoked", { name }));
    await loadTokens();
  } catch (error) {
    showProblem("token-error", errorMessage(error));
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- webhooks

function endpointRow(endpoint) {
  return el(
    "li",
    { class: "history-link", "data-endpoint": endpoint.id },
    el("span", { class: "history-main" },
      el("span", { class: "history-title" }, endpoint.url),
      el("span", { class: "history-meta" }, [endpoint.events.join(", "), dateTime(endpoint.created_at)].join(" · "))),
    el("button", { type: "button", class: "btn btn-small", "data-delete-endpoint": endpoint.id, "aria-label": t("webhooks.deleteNamed", { url: endpoint.url }) }, t("webhooks.delete")),
  );
}

function deliveryRow(delivery) {
  const status = t(`webhooks.status.${delivery.status}`);
  const detail = delivery.last_error || (delivery.last_status_code ? `HTTP ${delivery.last_status_code}` : "");
  return el(
    "tr",
    {},
    el("th", { scope: "row" }, delivery.event, el("span", { class: "token-scopes" }, dateTime(delivery.created_at))),
    el("td", { class: "delivery-url" }, delivery.url),
    el("td", { class: "num" }, number(delivery.attempts)),
    el("td", {}, el("span", { class: `status-chip status-${delivery.status === "failed" ? "failed" : "ok"}` }, status), detail ? ` ${detail}` : ""),
  );
}

async function loadWebhooks() {
  try {
    const [endpoints, deliveries] = await Promise.all([get("/webhooks"), get("/webhooks/deliveries?limit=20")]);
    const list = clear(byId("webhook-rows"));
    for (const endpoint of endpoints.data) list.append(endpointRow(endpoint));
    byId("webhooks-empty").hidden = endpoints.data.length > 0;
    const rows = clear(byId("delivery-rows"));
    for (const delivery of deliveries.data) rows.append(deliveryRow(delivery));
    byId("deliveries-empty").hidden = deliveries.data.length > 0;
    showProblem("webhook-error", null);
  } catch (error) {
    showProblem("webhook-error", errorMessage(error));
  }
}

async function onCreateEndpoint(event) {
  event.preventDefault();
  const url = event.target.elements.url.value.trim();
  if (!url) {
    showProblem("webhook-error", t("webhooks.urlMissing"));
    return;
  }
  const button = byId("webhook-create");
  button.disabled = true;
  try {
    const { data } = await post("/webhooks", { url });
    event.target.reset();
    showProblem("webhook-error", null);
    reveal("webhook-reveal", "webhook-secret", data.secret);
    await loadWebhooks();
  } catch (error) {
    showProblem("webhook-error", errorMessage(error));
  } finally {
    button.disabled = false;
  }
}

async function onDeleteEndpoint(button) {
  const url = button.closest("li").querySelector(".history-title").textContent;
  if (!window.confirm(t("webhooks.confirmDelete", { url }))) return;
  button.disabled = true;
  try {
    await request("DELETE", `/webhooks/${encodeURIComponent(button.dataset.deleteEndpoint)}`);
    await loadWebhooks();
  } catch (error) {
    showProblem("webhook-error", errorMessage(error));
    button.disabled = false;
  }
}

async function onSigningReveal(button) {
  const box = byId("signing-box");
  if (!box.hidden) {
    box.hidden = true;
    byId("signing-secret").value = "";
    button.setAttribute("aria-expanded", "false");
    button.textContent = t("webhooks.signingShow");
    return;
  }
  try {
    const { data } = await get("/webhooks/secret");
    byId("signing-secret").value = data.secret;
    box.hidden = false;
    button.setAttribute("aria-expanded", "true");
    button.textContent = t("webhooks.signingHide");
  } catch (error) {
    showProblem("webhook-error", errorMessage(error));
  }
}

// ---------------------------------------------------------------- wiring

export function init(ctx) {
  announce = ctx.announce;
  byId("token-form").addEventListener("submit", onCreateToken);
  byId("webhook-form").addEventListener("submit", onCreateEndpoint);
  byId("signing-reveal").addEventListener("click", (event) => onSigningReveal(event.currentTarget));
  byId("deliveries-refresh").addEventListener("click", () => loadWebhooks());
  byId("panel-integrations").addEventListener("click", (event) => {
    const target = event.target.closest?.("button");
    if (!target) return;
    if (target.dataset.copy) copy(target);
    else if (target.dataset.revoke) onRevoke(target);
    else if (target.dataset.deleteEndpoint) onDeleteEndpoint(target);
  });
  // A password change with "sign out everywhere" revoked every token (Account tab).
  on("password-changed", (change) => {
    stale = true;
    if (!change.signed_out_everywhere || !change.tokens_revoked) return;
    const notice = byId("tokens-revoked-notice");
    notice.querySelector("[data-slot='body']").textContent = plural("tokens.revokedByPassword", change.tokens_revoked);
    notice.hidden = false;
  });
  on("user", () => {
    stale = true;
    if (byId("panel-integrations").hidden) return;
    // Signed in while looking at it: what failed with 401 a moment ago works now.
    loadTokens();
    loadWebhooks();
  });
}

export function show(ctx, param, { changed }) {
  if (!changed && !stale) return;
  stale = false;
  loadTokens();
  loadWebhooks();
}
