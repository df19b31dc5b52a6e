// Admin (administrators only): the 13 configuration files (edit with live
// validation, save with a reason, history with diffs, rollback, validate-all,
// bulk export and import), system status, active sessions, the sign-in
// settings, users and the sign-in audit trail. One module per panel; this one
// wires them and loads everything on the first visit to the tab.

import { scrollBehavior } from "../../core/dom.js";
import { state } from "../../core/store.js";
import * as authSettings from "./auth-settings.js";
import * as bulk from "./bulk.js";
import * as configEditor from "./config-editor.js";
import * as events from "./events.js";
import * as history from "./history.js";
import * as sessions from "./sessions.js";
import * as status from "./status.js";
import * as users from "./users.js";

let loaded = false;

export function init(context) {
  configEditor.init({ onFileChanged: history.loadHistory });
  history.init();
  bulk.init(context);
  status.init();
  sessions.init(context);
  authSettings.init();
  users.init(context);
  events.init(context);
  for (const link of document.getElementById("panel-admin").querySelectorAll(".help-toc [data-scroll]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const target = document.querySelector(link.getAttribute("href"));
      target.scrollIntoView({ behavior: scrollBehavior() });
      target.focus({ preventScroll: true });
    });
  }
}

export function show() {
  if (loaded || !state.session?.user?.is_admin) return;
  loaded = true;
  configEditor.loadCategories();
  status.loadStatus();
  sessions.loadSessions();
  authSettings.loadAuth();
  users.loadUsers();
  events.loadEvents();
}
