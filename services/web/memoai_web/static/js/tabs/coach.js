// Coach: a conversation about one evaluated memo. The reply is followed as
// server-sent events (token by token); if the stream fails, the conversation is
// polled until the reply is final. A reload fetches the history again. Replies
// are shown as sanitised Markdown (core/markdown.js), the writer's own text as typed.
// One module on purpose: the stream, the polling fallback and the history
// render the same conversation and share its state.

import { ApiError, get, post } from "../core/api.js";
import { clear, el, showError, showState, slot } from "../core/dom.js";
import { load } from "../core/evaluations.js";
import { duration, number, t } from "../core/i18n.js";
import { loadMarkdown, showMarkdown } from "../core/markdown.js";
import { errorMessage } from "../core/messages.js";
import { criteriaOf, formatScore } from "../core/results.js";
import { reflect } from "../core/router.js";
import { on, setResult, state } from "../core/store.js";
import { codePointLength } from "../core/segments.js";

const MAX_MESSAGE = 4000; // the API's limit, in code points
const POLL_MS = 1000;
const MAX_POLL_FAILURES = 5;

let ctx;
let panel;
let ready;
let log;
let form;
let input;
let count;
let sendButton;
let typing;
let errorBox;
// The conversation on show: {evaluationId, chatId, evaluation, count}.
let chat = null;
let opening = null;
let busy = false;
let retryAction = null;
let source = null; // the EventSource of the reply being written
let pollTimer = null;

const ends = (status) => status === "completed" || status === "failed";

// ---------------------------------------------------------------- messages

function bubble(message) {
  const assistant = message.role === "assistant";
  const body = el("div", { class: "chat-body" });
  if (assistant && chat?.evaluation?.language) body.setAttribute("lang", chat.evaluation.language);
  const offline = assistant && (message.llm_provider === "offline" || (!message.llm_provider && state.config?.llm?.offline));
  const item = el(
    "li",
    { class: `chat-msg chat-${message.role}`, "data-id": message.id, "data-status": message.status },
    el(
      "p",
      { class: "chat-who" },
      assistant ? t("coach.coach") : t("coach.you"),
      offline ? el("span", { class: "chip chip-offline", "data-slot": "offline-label" }, t("coach.offlineLabel")) : null,
    ),
    body,
  );
  if (assistant && message.status === "failed") markFailed(item, message.error);
  else if (assistant) showMarkdown(body, message.content);
  else body.textContent = message.content;
  return item;
}

function markFailed(item, detail) {
  item.dataset.status = "failed";
  const body = item.querySelector(".chat-body");
  clear(body).append(el("p", { class: "chat-failed" }, t("coach.replyFailed")));
  if (detail) item.title = detail;
}

function scrollToEnd() {
  log.lastElementChild?.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- opening a conversation

function starters(evaluation) {
  const criteria = criteriaOf(evaluation).sort((a, b) => a.score - b.score);
  const questions = [];
  if (criteria[0]) questions.push(t("coach.starter.weakest", { criterion: criteria[0].name }));
  if (criteria[1]) questions.push(t("coach.starter.nextLevel", { criterion: criteria[1].name }));
  questions.push(t("coach.starter.ask"), t("coach.starter.first"));
  return questions;
}

function renderStarters(evaluation) {
  const list = clear(slot(ready, "starter-list"));
  for (const question of starters(evaluation)) {
    const button = el("button", { type: "button", class: "btn btn-small starter" }, question);
    button.addEventListener("click", () => {
      if (!busy) send(question);
    });
    list.append(el("li", {}, button));
  }
  toggleStarters();
}

function toggleStarters() {
  slot(ready, "starters").hidden = log.childElementCount > 0;
}

function renderHeader(evaluation) {
  slot(ready, "about").textContent = t("coach.about", {
    version: number(evaluation.version_number ?? 1),
    score: formatScore(evaluation.overall_score ?? 0),
  });
  slot(ready, "back").setAttribute("href", `#/overall/${encodeURIComponent(evaluation.id)}`);
  const language = evaluation.language ? languageName(evaluation.language) : null;
  slot(ready, "language").textContent = language ? t("coach.language", { language }) : "";
  slot(ready, "offline").hidden = !(evaluation.offline || state.config?.llm?.offline);
}

function languageName(code) {
  try {
    return new Intl.DisplayNames([state.boot.lang], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

async function open(evaluationId) {
  stopFollowing();
  chat = null;
  showState(panel, "loading");
  try {
    const evaluation = await load(evaluationId);
    if (evaluation.status !== "completed") {
      showError(panel, t("coach.notReady"), () => open(evaluationId));
      return;
    }
    // Overall and Detailed follow the memo under discussion, as they follow each other.
    if (state.currentId !== evaluationId) setResult(evaluation);
    const { data: session } = await post("/chat/sessions", { evaluation_id: evaluationId });
    const { data: history } = await get(`/chat/sessions/${encodeURIComponent(session.chat_session_id)}/messages`);
    chat = { evaluationId, chatId: session.chat_session_id, evaluation };
    renderHeader(evaluation);
    clear(log);
    for (const message of history.messages) log.append(bubble(message));
    renderStarters(evaluation);
    hideError();
    showState(panel, "ready");
    reflect("coach", evaluationId);
    tabLink(evaluationId);
    const pending = history.messages.find((m) => m.role === "assistant" && !ends(m.status));
    const last = history.messages.at(-1);
    if (pending) {
      // A reply was still being written when the page was (re)loaded: follow it.
      setBusy(true);
      follow(pending.id, `${state.boot.api}/chat/sessions/${encodeURIComponent(chat.chatId)}/messages/${encodeURIComponent(pending.id)}/stream`);
    } else {
      setBusy(false);
      // The latest reply failed (e.g. its worker stopped): offer to write it again.
      if (last?.role === "assistant" && last.status === "failed") offerRetry(last.id);
    }
    scrollToEnd();
  } catch (error) {
    const message = error instanceof ApiError && error.status === 404 ? t("coach.notFound") : errorMessage(error);
    showError(panel, message, () => open(evaluationId));
  }
}

function tabLink(evaluationId) {
  document.getElementById("tab-coach").setAttribute("href", `#/coach/${encodeURIComponent(evaluationId)}`);
}

// ---------------------------------------------------------------- sending

function setBusy(value) {
  busy = value;
  form.setAttribute("aria-busy", String(value));
  input.readOnly = value;
  sendButton.classList.toggle("is-busy", value);
  for (const button of slot(ready, "starter-list").querySelectorAll("button")) button.disabled = value;
  updateCount();
}

function updateCount() {
  const length = codePointLength(input.value);
  count.textContent = t("write.count", { count: number(length), max: number(MAX_MESSAGE) });
  const level = length > MAX_MESSAGE ? "over" : length >= MAX_MESSAGE * 0.9 ? "near" : "ok";
  count.dataset.level = level;
  sendButton.disabled = busy || input.value.trim() === "" || level === "over";
}

function showChatError(message, retry) {
  slot(errorBox, "chat-error-message").textContent = message;
  retryAction = retry;
  errorBox.hidden = false;
}

function hideError() {
  errorBox.hidden = true;
  retryAction = null;
}

function sendError(error) {
  if (error instanceof ApiError && error.status === 429) {
    return t("coach.rateLimited", { wait: duration(error.retryAfter || 60) });
  }
  if (error instanceof ApiError && error.status === 404) return t("coach.notFound");
  if (error instanceof ApiError && error.field === "message_content") return error.message;
  return errorMessage(error);
}

async function send(text) {
  if (busy || !chat) return;
  hideError();
  setBusy(true);
  const current = chat;
  const mine = bubble({ id: "", role: "user", content: text, status: "completed" });
  log.append(mine);
  toggleStarters();
  typing.hidden = false;
  scrollToEnd();
  let data;
  try {
    ({ data } = await post(`/chat/sessions/${encodeURIComponent(current.chatId)}/messages?wait=false`, { message_content: text }));
  } catch (error) {
    typing.hidden = true;
    if (error instanceof ApiError && error.status === 409) {
      // Already answering (another tab): show the conversation as the server has it.
      mine.remove();
      open(current.evaluationId);
      return;
    }
    mine.remove();
    toggleStarters();
    setBusy(false);
    if (!input.value) input.value = text;
    updateCount();
    showChatError(sendError(error), () => send(text));
    return;
  }
  if (chat !== current) return;
  mine.dataset.id = data.message_id;
  input.value = "";
  updateCount();
  const reply = bubble({ id: data.assistant_message_id, role: "assistant", content: data.assistant_response ?? "", status: data.status });
  reply.dataset.updates = "0";
  log.append(reply);
  if (ends(data.status)) finish(data.assistant_message_id, data.status, data.assistant_response ?? "", data.error);
  else follow(data.assistant_message_id, data.stream_url);
}

/** A failed reply gets a retry button: the API writes the same reply again. */
function offerRetry(messageId) {
  showChatError(t("coach.replyFailed"), () => retryReply(messageId));
}

async function retryReply(messageId) {
  if (busy || !chat) return;
  const current = chat;
  hideError();
  setBusy(true);
  typing.hidden = false;
  let data;
  try {
    ({ data } = await post(`/chat/sessions/${encodeURIComponent(current.chatId)}/messages/${encodeURIComponent(messageId)}/retry?wait=false`));
  } catch (error) {
    typing.hidden = true;
    setBusy(false);
    if (error instanceof ApiError && error.status === 409) {
      // Not retryable any more (answered elsewhere, or the chat went on): reload it.
      open(current.evaluationId);
      return;
    }
    showChatError(sendError(error), () => retryReply(messageId));
    return;
  }
  if (chat !== current) return;
  const item = replyItem(messageId);
  if (item) {
    item.dataset.status = data.status;
    item.dataset.updates = "0";
    item.removeAttribute("title");
    clear(item.querySelector(".chat-body"));
  }
  if (ends(data.status)) finish(messageId, data.status, data.assistant_response ?? "", data.error);
  else follow(messageId, data.stream_url);
}

// ---------------------------------------------------------------- following a reply

function replyItem(messageId) {
  return log.querySelector(`li[data-id="${CSS.escape(messageId)}"]`);
}

function showText(messageId, text) {
  const item = replyItem(messageId);
  if (!item) return;
  item.dataset.status = "streaming";
  item.dataset.updates = String(Number(item.dataset.updates ?? 0) + 1);
  // Rendered as it grows: marked reads a half-written "**bo" as text, and the
  // sanitiser sees every partial reply, not only the final one.
  showMarkdown(item.querySelector(".chat-body"), text);
  scrollToEnd();
}

function stopFollowing() {
  source?.close();
  source = null;
  clearTimeout(pollTimer);
  pollTimer = null;
}

function streamUrl(url) {
  // The API gives a path under its own prefix; resolve it against the API's base.
  return new URL(url, new URL(state.boot.api, location.href)).href;
}

function follow(messageId, url) {
  stopFollowing();
  typing.hidden = false;
  let text = "";
  const stream = new EventSource(streamUrl(url), { withCredentials: true });
  source = stream;
  stream.addEventListener("delta", (event) => {
    text += JSON.parse(event.data).text;
    showText(messageId, text);
  });
  stream.addEventListener("done", (event) => {
    stream.close();
    const data = JSON.parse(event.data);
    finish(messageId, data.status, data.content, data.error);
  });
  const fallBack = () => {
    // EventSource would reconnect and replay from the start: poll the conversation instead.
    stream.close();
    if (source === stream) {
      source = null;
      poll(messageId, 0);
    }
  };
  stream.addEventListener("timeout", fallBack);
  stream.addEventListener("error", fallBack);
}

function poll(messageId, failures) {
  const current = chat;
  pollTimer = setTimeout(async () => {
    if (chat !== current) return;
    try {
      const { data } = await get(`/chat/sessions/${encodeURIComponent(current.chatId)}/messages`);
      const message = data.messages.find((m) => m.id === messageId);
      if (!message) throw new ApiError({ status: 404, code: "not_found" });
      if (ends(message.status)) {
        finish(messageId, message.status, message.content, message.error, message.llm_provider);
        return;
      }
      if (message.content) showText(messageId, message.content);
      poll(messageId, 0);
    } catch (error) {
      if (chat !== current) return;
      if (error instanceof ApiError && error.transient && failures + 1 < MAX_POLL_FAILURES) {
        poll(messageId, failures + 1);
        return;
      }
      typing.hidden = true;
      setBusy(false);
      showChatError(errorMessage(error), () => {
        hideError();
        setBusy(true);
        typing.hidden = false;
        poll(messageId, 0);
      });
    }
  }, POLL_MS);
}

function finish(messageId, status, content, error, provider) {
  stopFollowing();
  typing.hidden = true;
  const item = replyItem(messageId);
  if (item) {
    item.dataset.status = status;
    if (status === "completed") {
      showMarkdown(item.querySelector(".chat-body"), content);
      if (provider === "offline" && !item.querySelector("[data-slot='offline-label']")) {
        item.querySelector(".chat-who").append(el("span", { class: "chip chip-offline", "data-slot": "offline-label" }, t("coach.offlineLabel")));
      }
    } else {
      markFailed(item, error);
      offerRetry(messageId);
    }
  }
  setBusy(false);
  if (status === "completed") ctx.announce(t("coach.replied"));
  scrollToEnd();
  input.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- module API

export function init(context) {
  ctx = context;
  panel = document.getElementById("panel-coach");
  ready = panel.querySelector("[data-state='ready']");
  log = slot(ready, "log");
  form = document.getElementById("coach-form");
  input = document.getElementById("coach-input");
  count = document.getElementById("coach-count");
  sendButton = document.getElementById("coach-send");
  typing = slot(ready, "typing");
  errorBox = slot(ready, "chat-error");
  loadMarkdown(); // before the first reply arrives
  input.maxLength = MAX_MESSAGE * 2; // a hard stop; the count shows the real (code point) limit
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!sendButton.disabled) send(input.value);
  });
  input.addEventListener("input", updateCount);
  input.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; an IME composition is left alone.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  ready.querySelector("[data-action='chat-retry']").addEventListener("click", () => {
    const retry = retryAction;
    hideError();
    retry?.();
  });
  on("result", (evaluation) => tabLink(evaluation.id));
  on("config", (config) => {
    // The tab and its button exist only while the API serves the chat.
    document.getElementById("tab-coach").closest("li").hidden = config.features?.chat === false;
  });
  updateCount();
}

export function show(_ctx, param) {
  const id = param ?? state.currentId ?? chat?.evaluationId;
  if (!id) {
    showState(panel, "empty");
    return;
  }
  if (chat?.evaluationId === id) {
    showState(panel, "ready");
    reflect("coach", id);
    return;
  }
  if (opening === id) return;
  opening = id;
  open(id).finally(() => { opening = null; });
}
