// Admin: the user accounts - the list, creating one, and deactivating or
// reactivating anyone but oneself.

import { ApiError, get, post, request } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { state } from "../../core/store.js";
import { $, confirmAction, enc } from "./shared.js";

let ctx;

const ROLES = { user: "admin.roleUser", coach: "admin.roleCoach", admin: "admin.roleAdmin" };

function roleName(user) {
  return t(ROLES[user.role ?? (user.is_admin ? "admin" : "user")]);
}

/** Anyone but oneself can be made a writer (user), a coach or an admin. */
function roleSelect(user) {
  const current = user.role ?? (user.is_admin ? "admin" : "user");
  return el(
    "select",
    { class: "input input-small", "data-role-of": user.id, "data-name": user.username, "aria-label": t("admin.roleChange", { name: user.username }) },
    Object.entries(ROLES).map(([value, key]) => el("option", { value, selected: value === current }, t(key))),
  );
}

export async function loadUsers() {
  const box = document.querySelector("#admin-users .users-states");
  if (box.dataset.view !== "ready") showState(box, "loading");
  try {
    const { data } = await get("/users?limit=200");
    const me = state.session?.user?.id;
    const rows = clear(slot(box, "rows"));
    for (const user of data.items) {
      const locked = user.locked_until && new Date(user.locked_until) > new Date();
      const status = [user.is_active ? t("admin.active") : t("admin.inactive"), locked ? t("admin.locked") : null].filter(Boolean).join(" · ");
      rows.append(el(
        "tr",
        { class: user.is_active ? null : "is-inactive" },
        el("th", { scope: "row" }, user.username),
        el("td", {}, user.id === me ? roleName(user) : roleSelect(user)),
        el("td", {}, status),
        el("td", { class: "num" }, user.last_login_at ? dateTime(user.last_login_at) : t("admin.never")),
        el(
          "td",
          {},
          user.id === me
            ? el("span", { class: "kind-chip" }, t("admin.you"))
            : el(
              "button",
              {
                type: "button",
                class: "btn btn-small",
                "data-user": user.id,
                "data-name": user.username,
                "data-active": String(user.is_active),
              },
              user.is_active ? t("admin.deactivate") : t("admin.reactivate"),
            ),
        ),
      ));
    }
    showState(box, "ready");
  } catch (error) {
    showError(box, errorMessage(error), () => loadUsers());
  }
}

function userProblem(message) {
  const box = $("user-error");
  box.textContent = message ?? "";
  box.hidden = !message;
}

async function createUser(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    userProblem(t("auth.missing"));
    (username ? form.elements.password : form.elements.username).focus();
    return;
  }
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await post("/users", { username, password, role: form.elements.role.value });
    form.reset();
    userProblem(null);
    ctx.announce(t("admin.userCreated", { name: data.user.username }));
    loadUsers();
  } catch (error) {
    userProblem(error instanceof ApiError && error.status < 500 && error.status !== 401 && error.status !== 403 ? error.message : errorMessage(error));
    const field = error instanceof ApiError ? form.elements[error.field] : null;
    field?.focus();
  } finally {
    form.removeAttribute("aria-busy");
  }
}

async function toggleUser(button) {
  const active = button.dataset.active === "true";
  const name = button.dataset.name;
  if (active) {
    const answer = await confirmAction({ title: t("admin.deactivateTitle"), message: t("admin.deactivateBody", { name }), action: t("admin.deactivate") });
    if (!answer.ok) return;
  }
  try {
    await request("PUT", `/users/${enc(button.dataset.user)}`, { body: { is_active: !active } });
    ctx.announce(t(active ? "admin.deactivated" : "admin.reactivated", { name }));
  } catch (error) {
    userProblem(errorMessage(error));
  }
  loadUsers();
}

async function changeRole(select) {
  const name = select.dataset.name;
  select.disabled = true;
  try {
    await request("PUT", `/users/${enc(select.dataset.roleOf)}`, { body: { role: select.value } });
    ctx.announce(t("admin.roleChanged", { name, role: t(ROLES[select.value]) }));
  } catch (error) {
    userProblem(errorMessage(error));
  }
  loadUsers();
}

export function init(context) {
  ctx = context;
  $("user-create").addEventListener("submit", createUser);
  slot($("admin-users"), "rows").addEventListener("change", (event) => {
    const select = event.target.closest("[data-role-of]");
    if (select) changeRole(select);
  });
  slot($("admin-users"), "rows").addEventListener("click", (event) => {
    const button = event.target.closest("[data-user]");
    if (button) toggleUser(button);
  });
}
