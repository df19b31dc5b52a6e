// Batches: upload many memos at once (a CSV with a `text` column, .txt/.md
// files, or a zip of them, which the API opens: POST /batches/unzip), preview
// what will be sent and what was rejected, submit them as one batch, then
// follow it at #/batches/<id> with a progress bar and exports.

import { ApiError, get, post, request } from "../core/api.js";
import { parseCsv } from "../core/csv.js";
import { clear, el, showError, showState, slot } from "../core/dom.js";
import { dateTime, number, plural, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { formatScore } from "../core/results.js";
import { navigate, reflect } from "../core/router.js";
import { on, state } from "../core/store.js";

const MAX_ITEMS = 200; // the API's limit per batch
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const MAX_ZIP_BYTES = 2 * 1024 * 1024; // the API's max_request_size
const TEXT_COLUMNS = ["text", "text_content", "memo"];
const FINAL = new Set(["completed", "completed_with_errors"]);

let form;
let statusCard;
let states;
let prepared = { items: [], rejected: [] };
let idempotencyKey = null;
let shownBatch = null; // the batch id on show, or null
let pollTimer = null;
let recentStale = true;

function maxLength() {
  return state.config?.limits?.max_text_length ?? state.boot.maxLength ?? 50_000;
}

/** Why this text cannot be sent, or null. */
function problem(text) {
  if (!text.trim()) return t("batches.reason.empty");
  if (text.includes("\0")) return t("batches.reason.invalid");
  const max = maxLength();
  // The API counts code points; UTF-16 length is an upper bound, so count only when needed.
  if (text.length > max && Array.from(text).length > max) {
    return plural("batches.reason.tooLong", max);
  }
  return null;
}

function addText(result, text, source) {
  const reason = problem(text);
  if (reason) result.rejected.push({ source, reason });
  else result.items.push({ text, source });
}

function readCsv(result, name, text) {
  const { records, error } = parseCsv(text);
  if (error) {
    result.rejected.push({ source: name, reason: t("batches.reason.badCsv", { line: number(error.line) }) });
    return;
  }
  const header = (records[0] ?? []).map((cell) => cell.trim().toLowerCase());
  const column = header.findIndex((cell) => TEXT_COLUMNS.includes(cell));
  if (column < 0) {
    result.rejected.push({ source: name, reason: t("batches.reason.noTextColumn") });
    return;
  }
  records.slice(1).forEach((record, index) => {
    if (record.length === 1 && record[0] === "") return; // a blank line
    addText(result, record[column] ?? "", t("batches.row", { file: name, n: number(index + 2) }));
  });
}

/** A zip is opened by the API (size and zip-bomb limits live there); nothing is stored. */
async function readZip(result, file) {
  try {
    const { data } = await request("POST", "/batches/unzip", {
      raw: file,
      headers: { "Content-Type": "application/zip" },
    });
    for (const item of data.items) addText(result, item.text_content, `${file.name}: ${item.filename}`);
    for (const entry of data.rejected) {
      result.rejected.push({ source: `${file.name}: ${entry.filename}`, reason: t(`batches.reason.zip.${entry.reason}`) });
    }
  } catch (error) {
    result.rejected.push({ source: file.name, reason: errorMessage(error) });
  }
}

async function readFiles(files) {
  const result = { items: [], rejected: [] };
  for (const file of files) {
    const name = file.name;
    const lower = name.toLowerCase();
    if (file.size > (name.toLowerCase().endsWith(".zip") ? MAX_ZIP_BYTES : MAX_FILE_BYTES)) {
      result.rejected.push({ source: name, reason: t("batches.reason.fileTooLarge") });
    } else if (lower.endsWith(".csv")) {
      readCsv(result, name, await file.text());
    } else if (lower.endsWith(".txt") || lower.endsWith(".md")) {
      addText(result, await file.text(), name);
    } else if (lower.endsWith(".zip")) {
      await readZip(result, file);
    } else {
      result.rejected.push({ source: name, reason: t("batches.reason.unsupported") });
    }
  }
  return result;
}

function showProblem(message) {
  const box = document.getElementById("batch-error");
  box.hidden = !message;
  box.textContent = message ?? "";
}

function renderPreview() {
  const { items, rejected } = prepared;
  document.getElementById("batch-preview").hidden = false;
  const tooMany = items.length > MAX_ITEMS;
  document.getElementById("batch-summary").textContent = plural("batches.summary", items.length, {
    rejected: number(rejected.length),
  });
  const list = clear(document.getElementById("batch-rejected"));
  for (const entry of rejected) {
    list.append(el("li", {}, el("strong", {}, entry.source), ": ", entry.reason));
  }
  document.getElementById("batch-rejected-box").hidden = rejected.length === 0;
  showProblem(tooMany ? plural("batches.tooMany", MAX_ITEMS) : null);
  document.getElementById("batch-submit").disabled = items.length === 0 || tooMany;
}

async function onFiles() {
  const files = Array.from(form.elements.files.files);
  idempotencyKey = null;
  prepared = files.length ? await readFiles(files) : { items: [], rejected: [] };
  if (files.length) renderPreview();
  else document.getElementById("batch-preview").hidden = true;
}

async function onSubmit(event) {
  event.preventDefault();
  const button = document.getElementById("batch-submit");
  if (button.disabled || !prepared.items.length) return;
  // One key per prepared upload: a resend after a lost answer does not queue it twice.
  idempotencyKey ??= crypto.randomUUID();
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  showProblem(null);
  try {
    const name = form.elements.name.value.trim();
    const { data } = await post(
      "/batches",
      { name: name || null, items: prepared.items.map((item) => ({ text_content: item.text })) },
      { headers: { "Idempotency-Key": idempotencyKey } },
    );
    form.reset();
    prepared = { items: [], rejected: [] };
    idempotencyKey = null;
    document.getElementById("batch-preview").hidden = true;
    recentStale = true;
    state.historyStale = true;
    navigate("batches", data.batch_id);
  } catch (error) {
    const invalid = error instanceof ApiError ? error.details?.invalid_items : null;
    showProblem(invalid?.length
      ? t("batches.invalidItem", { n: number(invalid[0].index + 1), reason: invalid[0].message })
      : errorMessage(error));
    button.disabled = false;
  } finally {
    form.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- status

function itemRow(item) {
  const title = item.title || t("batches.untitled", { n: number(item.index + 1) });
  const done = item.status === "completed";
  const memo = done
    ? el("a", { href: `#/overall/${encodeURIComponent(item.evaluation_id)}` }, title)
    : el("span", {}, title);
  const score = done && item.overall_score !== null ? formatScore(item.overall_score) : "–";
  const chip = el("span", { class: `status-chip status-${item.status}` }, t(`status.${item.status}`));
  const failure = item.status === "failed" && item.error ? el("span", { class: "muted batch-item-error" }, item.error) : null;
  return el(
    "tr",
    { "data-status": item.status },
    el("th", { scope: "row" }, memo),
    el("td", { class: "num" }, number(item.index + 1)),
    el("td", { class: "num" }, score),
    el("td", {}, chip, failure ? " " : null, failure),
  );
}

function renderStatus(batch) {
  const view = states.querySelector("[data-state='ready']");
  slot(view, "name").textContent = batch.name || t("batches.unnamed", { date: dateTime(batch.created_at) });
  slot(view, "pct").textContent = `${batch.progress_percentage}%`;
  const bar = document.getElementById("batch-progress");
  bar.setAttribute("aria-valuenow", String(batch.progress_percentage));
  bar.querySelector(".progress-fill").style.setProperty("--value", String(batch.progress_percentage / 100));
  const counts = batch.counts;
  slot(view, "counts").textContent = t("batches.counts", {
    done: number(counts.completed ?? 0),
    failed: number(counts.failed ?? 0),
    total: number(batch.total),
  });
  document.getElementById("batch-state").textContent = t(`batches.state.${batch.status}`);
  const base = `${state.boot.api}/batches/${encodeURIComponent(batch.id)}/export`;
  document.getElementById("batch-export-csv").href = `${base}?format=csv`;
  document.getElementById("batch-export-json").href = `${base}?format=json`;
  const body = clear(slot(view, "items"));
  for (const item of batch.items) body.append(itemRow(item));
  showState(states, "ready");
}

function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = null;
}

async function loadStatus(id) {
  stopPolling();
  try {
    const { data } = await get(`/batches/${encodeURIComponent(id)}`);
    if (shownBatch !== id) return;
    renderStatus(data);
    if (!FINAL.has(data.status)) {
      const interval = state.config?.limits?.polling_interval_ms ?? 1500;
      pollTimer = setTimeout(() => loadStatus(id), Math.max(500, interval));
    } else {
      recentStale = true;
      state.historyStale = true;
    }
  } catch (error) {
    if (shownBatch === id) showError(states, errorMessage(error), () => loadStatus(id));
  }
}

async function loadRecent() {
  recentStale = false;
  try {
    const { data } = await get("/batches?limit=10");
    const list = clear(document.getElementById("batch-recent"));
    for (const batch of data) {
      const label = batch.name || t("batches.unnamed", { date: dateTime(batch.created_at) });
      list.append(el(
        "li",
        {},
        el(
          "a",
          { class: "history-link", href: `#/batches/${encodeURIComponent(batch.id)}` },
          el("span", { class: "history-main" },
            el("span", { class: "history-title" }, label),
            el("span", { class: "history-meta" }, plural("batches.memoCount", batch.total))),
        ),
      ));
    }
    document.getElementById("batch-recent-empty").hidden = data.length > 0;
  } catch {
    recentStale = true; // not signed in yet, or offline: try again on the next visit
  }
}

export function init() {
  form = document.getElementById("batch-form");
  statusCard = document.getElementById("batch-status");
  states = statusCard.querySelector(".batch-states");
  form.elements.files.addEventListener("change", onFiles);
  form.addEventListener("submit", onSubmit);
  on("user", () => { recentStale = true; });
}

export function show(ctx, param) {
  if (param && param !== shownBatch) {
    shownBatch = param;
    statusCard.hidden = false;
    showState(states, "loading");
    reflect("batches", param);
    loadStatus(param);
  } else if (!param) {
    shownBatch = null;
    stopPolling();
    statusCard.hidden = true;
  }
  if (recentStale) loadRecent();
}
