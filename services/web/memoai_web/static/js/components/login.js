// Sign-in dialog, shown when AUTH_ENABLED is true. It speaks the contract's
// POST /auth/login {username, password} -> data.user, and GET /auth/verify at
// start-up; the session cookie and CSRF cookie it sets are used by api.js.

import { ApiError, get, post } from "../core/api.js";
import { t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { allow } from "../core/router.js";
import { emit, on, state } from "../core/store.js";
import { showSession } from "./session.js";

let dialog;
let form;
let errorBox;

function signedIn(user) {
  state.session = { kind: "user", user };
  showSession(state.session);
  const button = document.getElementById("login-open");
  button.querySelector("span").textContent = t("auth.signOut");
  button.onclick = signOut;
  if (user.is_admin) allow("admin");
  emit("user", user);
}

async function signOut() {
  try {
    await post("/auth/logout");
  } finally {
    // A fresh page drops every result this user had loaded.
    location.reload();
  }
}

async function onSubmit(event) {
  event.preventDefault();
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    showProblem(t("auth.missing"));
    return;
  }
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await post("/auth/login", { username, password });
    form.reset();
    dialog.close();
    signedIn(data.user);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) showProblem(t("auth.wrong"));
    else if (error instanceof ApiError && error.status === 404) showProblem(t("auth.unavailable"));
    else showProblem(errorMessage(error));
  } finally {
    form.removeAttribute("aria-busy");
  }
}

function showProblem(message) {
  errorBox.hidden = !message;
  errorBox.textContent = message ?? "";
}

export function openLogin() {
  showProblem(null);
  if (!dialog.open) dialog.showModal();
  form.elements.username.focus();
}

export async function setupLogin(boot) {
  dialog = document.getElementById("login-dialog");
  form = document.getElementById("login-form");
  errorBox = document.getElementById("login-error");
  if (!boot.authEnabled) return;
  const button = document.getElementById("login-open");
  button.hidden = false;
  button.onclick = openLogin;
  form.addEventListener("submit", onSubmit);
  for (const close of dialog.querySelectorAll("[data-close]")) close.addEventListener("click", () => dialog.close());
  on("login-required", openLogin);
  try {
    const { data } = await get("/auth/verify");
    if (data?.user) {
      signedIn(data.user);
      return;
    }
  } catch {
    /* not signed in (401) or sign-in not offered yet */
  }
  state.session = { kind: "signed-out" };
  showSession(state.session);
}
