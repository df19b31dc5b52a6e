// Admin: the sign-in settings (auth.yaml through PUT /admin/auth/config); only
// the fields that changed are sent.

import { ApiError, get, request } from "../../core/api.js";
import { showError, showState } from "../../core/dom.js";
import { number, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { $ } from "./shared.js";
import { loadCategories } from "./config-editor.js";

const AUTH_FLAGS = ["enabled", "secure_cookies", "csrf_protection"];
const AUTH_NUMBERS = ["jwt_expiration_hours", "session_timeout", "max_login_attempts", "lockout_duration", "bcrypt_rounds", "password_min_length"];
let authLoaded = null; // the settings as last read, to send only what changed

function fillAuth(data) {
  authLoaded = data;
  const form = $("auth-form");
  for (const name of AUTH_FLAGS) form.elements[name].checked = Boolean(data[name]);
  for (const name of AUTH_NUMBERS) form.elements[name].value = String(data[name]);
  form.elements.mode.value = data.mode;
  const notes = [];
  if (data.version_number) notes.push(t("admin.versionShort", { n: number(data.version_number) }));
  if (data.restart_required) notes.push(t("admin.restartRequired"));
  $("auth-saved").textContent = notes.join(" · ");
}

export async function loadAuth() {
  const box = document.querySelector("#admin-auth .auth-states");
  if (box.dataset.view !== "ready") showState(box, "loading");
  try {
    const { data } = await get("/admin/auth/config");
    fillAuth(data);
    showState(box, "ready");
  } catch (error) {
    showError(box, errorMessage(error), () => loadAuth());
  }
}

function authProblem(message, field = null) {
  const box = $("auth-error");
  box.textContent = message ?? "";
  box.hidden = !message;
  const form = $("auth-form");
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const target = field ? form.elements[field] : null;
  if (target) {
    target.setAttribute("aria-invalid", "true");
    target.focus();
  }
}

async function saveAuth(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = {};
  for (const name of AUTH_FLAGS) {
    if (form.elements[name].checked !== authLoaded[name]) body[name] = form.elements[name].checked;
  }
  for (const name of AUTH_NUMBERS) {
    const input = form.elements[name];
    const value = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(value) || !input.checkValidity()) {
      authProblem(t("admin.authBadNumber", { field: form.querySelector(`label[for="${input.id}"]`).textContent }), name);
      return;
    }
    if (value !== authLoaded[name]) body[name] = value;
  }
  if (form.elements.mode.value !== authLoaded.mode) body.mode = form.elements.mode.value;
  if (!Object.keys(body).length) {
    authProblem(t("admin.authNoChange"));
    return;
  }
  const reason = form.elements.change_reason.value.trim();
  if (reason) body.change_reason = reason;
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await request("PUT", "/admin/auth/config", { body });
    authProblem(null);
    form.elements.change_reason.value = "";
    fillAuth(data);
    $("auth-saved").textContent = [t("admin.authSaved", { n: number(data.version_number) }), data.restart_required ? t("admin.restartRequired") : null].filter(Boolean).join(" · ");
    loadCategories();
  } catch (error) {
    const field = error instanceof ApiError ? error.field : null;
    const known = field && form.elements[field] ? field : null;
    authProblem(error instanceof ApiError && error.status >= 400 && error.status < 500 && ![401, 403, 429].includes(error.status) ? error.message : errorMessage(error), known);
  } finally {
    form.removeAttribute("aria-busy");
  }
}

export function init() {
  $("auth-form").addEventListener("submit", saveAuth);
}
