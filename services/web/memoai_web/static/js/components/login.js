// Sign-in dialog. With AUTH_ENABLED it is the way in; without, it is optional
// (anonymous writing goes on) so admins and token owners can still sign in. It
// speaks the contract's POST /auth/login {username, password} -> data.user, and
// GET /auth/verify at start-up; the cookies it sets are used by api.js.

import { ApiError, get, post } from "../core/api.js";
import { t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { allow } from "../core/router.js";
import { emit, on, state } from "../core/store.js";
import { showSession } from "./session.js";

let dialog;
let form;
let errorBox;
let optionalSignIn = false;

function signedIn(user) {
  state.session = { kind: "user", user };
  showSession(state.session);
  document.getElementById("login-footer").hidden = true;
  const button = document.getElementById("login-open");
  button.hidden = false;
  button.querySelector("span").textContent = t("auth.signOut");
  button.onclick = signOut;
  allow("user");
  // The coach area: accounts with the coach role, and admins (who see every cohort).
  if (user.is_admin || user.role === "coach") allow("coach");
  if (user.is_admin) allow("admin");
  emit("user", user);
}

/** Reload at the default tab: the address may name a result the new identity cannot see. */
function freshPage() {
  history.replaceState(null, "", location.pathname + location.search);
  location.reload();
}

async function signOut() {
  try {
    await post("/auth/logout");
  } finally {
    // A fresh page drops every result this user had loaded.
    freshPage();
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
    // Optional sign-in: the page holds the anonymous session's results, so start
    // afresh as the user (the draft survives a reload).
    if (optionalSignIn) {
      freshPage();
      return;
    }
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

/** Wire the dialog; resolves to the signed-in user, or null. */
export async function setupLogin(boot, { optional = false } = {}) {
  dialog = document.getElementById("login-dialog");
  form = document.getElementById("login-form");
  errorBox = document.getElementById("login-error");
  optionalSignIn = optional;
  // Required sign-in lives in the header; optional sign-in in the footer, so the
  // anonymous writer's header stays as it was.
  const button = document.getElementById(optional ? "login-footer" : "login-open");
  button.hidden = false;
  button.onclick = openLogin;
  form.addEventListener("submit", onSubmit);
  for (const close of dialog.querySelectorAll("[data-close]")) close.addEventListener("click", () => dialog.close());
  on("login-required", openLogin);
  // Optional sign-in: without the login cookie there is nobody to verify.
  if (optional && !boot.hasLogin) return null;
  try {
    const { data } = await get("/auth/verify", { session: false });
    if (data?.user) {
      signedIn(data.user);
      return data.user;
    }
  } catch {
    /* not signed in (401) or sign-in not offered yet */
  }
  if (optional) return null;
  state.session = { kind: "signed-out" };
  showSession(state.session);
  return null;
}
