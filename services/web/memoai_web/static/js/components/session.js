// The header's session indicator and the offline-evaluator chip.

import { slot } from "../core/dom.js";
import { dateTime, t } from "../core/i18n.js";

const indicator = () => document.getElementById("session-indicator");

export function showSession(session) {
  const node = indicator();
  if (session.kind === "user") {
    node.dataset.state = "user";
    slot(node, "label").textContent = t("session.user", { name: session.user.username });
    node.title = "";
  } else if (session.kind === "signed-out") {
    node.dataset.state = "signed-out";
    slot(node, "label").textContent = t("session.signedOut");
    node.title = "";
  } else {
    node.dataset.state = "anonymous";
    slot(node, "label").textContent = t("session.anonymous");
    node.title = session.expiresAt ? t("session.expires", { time: dateTime(session.expiresAt) }) : "";
  }
}

export function showDisconnected() {
  const node = indicator();
  node.dataset.state = "error";
  slot(node, "label").textContent = t("session.disconnected");
  node.title = "";
}

export function showOfflineEvaluator(config) {
  document.getElementById("offline-chip").hidden = !config.llm?.offline;
}
