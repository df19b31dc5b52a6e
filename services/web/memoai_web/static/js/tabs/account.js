// Account (signed-in users, opened from the header's user link): who you are
// and your own password change, PUT /users/me/password. "Sign out everywhere"
// (on by default, as in the API) ends your other sessions and revokes every API
// token; the API keeps the session that made the change, so this browser stays
// signed in and the page says so.

import { ApiError, get, request } from "../core/api.js";
import { slot } from "../core/dom.js";
import { duration, plural, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { passwordProblems, policyHint } from "../core/passwords.js";
import { emit, on, state } from "../core/store.js";

const ROLES = { user: "account.roleUser", coach: "account.roleCoach", admin: "account.roleAdmin" };
const FIELDS = {
  current_password: "password-current",
  new_password: "password-new",
  confirm_password: "password-confirm",
};

let ctx;
let policy = null;
const byId = (id) => document.getElementById(id);

function showUser(user) {
  if (!user) return;
  const role = user.role ?? (user.is_admin ? "admin" : "user");
  byId("account-username").textContent = user.username;
  byId("account-role").textContent = t(ROLES[role] ?? ROLES.user);
  byId("password-username").value = user.username;
  const link = byId("account-link");
  slot(link, "name").textContent = user.username;
  link.title = t("account.linkTitle", { name: user.username });
}

// ---------------------------------------------------------------- messages

function fieldError(field, message) {
  const input = byId(FIELDS[field]);
  const box = byId(`${FIELDS[field]}-error`);
  box.textContent = message ?? "";
  box.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function formError(message) {
  const box = byId("password-error");
  box.textContent = message ?? "";
  box.hidden = !message;
}

function clearMessages() {
  for (const field of Object.keys(FIELDS)) fieldError(field, null);
  formError(null);
  byId("account-success").hidden = true;
}

/** Mark each field at fault and put the focus on the first, whose error its description reads out. */
function showFieldErrors(list) {
  for (const { field, message } of list) fieldError(field, message);
  const first = list[0];
  byId(FIELDS[first.field]).focus();
  ctx.announce(first.message);
}

function showSuccess(data) {
  const box = byId("account-success");
  slot(box, "title").textContent = t("account.changed");
  slot(box, "body").textContent = data.signed_out_everywhere
    ? [
      t("account.staysSignedIn"),
      plural("account.sessionsRevoked", data.sessions_revoked),
      plural("account.tokensRevoked", data.tokens_revoked),
    ].join(" ")
    : t("account.othersKept");
  box.hidden = false;
}

/** The API's refusal, next to the field it names (errors[].field), else above the button. */
function showRefusal(error) {
  if (error instanceof ApiError && error.code === "account_locked") {
    const message = t("account.locked", { wait: duration(error.retryAfter || 60) });
    fieldError("current_password", message);
    byId(FIELDS.current_password).focus();
    ctx.announce(message);
    return;
  }
  const named = error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401
    ? (error.errors ?? []).filter((item) => item.field in FIELDS)
    : [];
  if (named.length) {
    // The wrong current password is the common case: say it in the page's language.
    showFieldErrors(named.map((item) => ({
      field: item.field,
      message: item.field === "current_password" ? t("account.currentWrong") : item.message,
    })));
    return;
  }
  formError(errorMessage(error));
}

// ---------------------------------------------------------------- the change

async function onSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  const values = {
    current: form.elements.current_password.value,
    next: form.elements.new_password.value,
    confirm: form.elements.confirm_password.value,
    username: state.session?.user?.username ?? "",
  };
  const problems = passwordProblems(values, policy);
  if (problems.length) {
    showFieldErrors(problems.map((p) => ({ field: p.field, message: t(p.key, p.values) })));
    return;
  }
  const everywhere = form.elements.sign_out_everywhere.checked;
  const button = byId("password-submit");
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await request("PUT", "/users/me/password", {
      body: { current_password: values.current, new_password: values.next, sign_out_everywhere: everywhere },
    });
    form.reset(); // the checkbox goes back to its default, on
    showSuccess(data);
    emit("password-changed", data);
  } catch (error) {
    showRefusal(error);
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- wiring

export function init(context) {
  ctx = context;
  policy = context.boot.passwordPolicy ?? null;
  const hint = policyHint(policy);
  slot(byId("password-form"), "policy").textContent = t(hint.key, hint.values);
  const form = byId("password-form");
  form.addEventListener("submit", onSubmit);
  // Typing in a field clears its own complaint, not the others'.
  form.addEventListener("input", (event) => {
    const field = event.target.name;
    if (field in FIELDS && byId(`${FIELDS[field]}-error`).hidden === false) fieldError(field, null);
  });
  on("user", showUser);
}

export async function show() {
  const user = state.session?.user;
  showUser(user);
  if (!user) return;
  try {
    // The role may have changed since sign-in (an admin made you a coach).
    const { data } = await get("/auth/verify", { session: false });
    if (data?.user) {
      state.session.user = data.user;
      showUser(data.user);
    }
  } catch {
    /* what the page knew is still shown */
  }
}
