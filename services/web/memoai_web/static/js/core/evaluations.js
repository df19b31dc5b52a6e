// Submitting a memo, following its status, and loading finished results.

import { ApiError, get, post } from "./api.js";
import { state } from "./store.js";

const FIRST_POLL_MS = 300;
const MIN_POLL_MS = 250;
const MAX_NETWORK_FAILURES = 6;

/** A fresh Idempotency-Key (getRandomValues also works outside secure contexts). */
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Submit a memo; sending it again with the same key cannot store it twice. */
export async function submit(text, previousId, key) {
  const body = { text_content: text };
  if (previousId) body.previous_evaluation_id = previousId;
  const { data, meta } = await post("/evaluations/submit", body, { headers: { "Idempotency-Key": key } });
  return { ...data, serverNow: meta?.timestamp };
}

/** Seconds until `eta`, measured on the server's clock so a skewed client clock does not matter. */
export function secondsLeft(eta, serverNow) {
  if (!eta || !serverNow) return null;
  return Math.max(0, (Date.parse(eta) - Date.parse(serverNow)) / 1000);
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
});

/**
 * Poll until the evaluation is completed or failed. `onUpdate` gets every status
 * ({...status, secondsLeft}) and, while the connection is failing, {reconnecting: n}.
 * Polls quickly at first (the offline evaluator takes a fraction of a second),
 * then at the server's suggested interval, sooner when the ETA is near.
 */
export async function follow(id, onUpdate, { intervalMs = 2000, signal } = {}) {
  let delay = FIRST_POLL_MS;
  let failures = 0;
  for (;;) {
    await sleep(delay, signal);
    if (signal?.aborted) throw new DOMException("stopped", "AbortError");
    let status;
    try {
      const { data, meta } = await get(`/evaluations/${encodeURIComponent(id)}/status`);
      status = { ...data, secondsLeft: secondsLeft(data.estimated_completion, meta?.timestamp) };
      failures = 0;
    } catch (error) {
      if (!(error instanceof ApiError) || !error.transient) throw error;
      failures += 1;
      if (failures >= MAX_NETWORK_FAILURES) throw error;
      onUpdate({ reconnecting: failures });
      delay = Math.min(8000, 500 * 2 ** failures, error.retryAfter ? error.retryAfter * 1000 : Infinity);
      continue;
    }
    onUpdate(status);
    if (status.status === "completed" || status.status === "failed") return status;
    const left = status.secondsLeft;
    delay = left === null ? intervalMs : Math.min(intervalMs, Math.max(MIN_POLL_MS, (left * 1000) / 2));
  }
}

/** A finished evaluation, from memory when this page has already loaded it. */
export async function load(id) {
  const cached = state.results.get(id);
  if (cached) return cached;
  const { data } = await get(`/evaluations/${encodeURIComponent(id)}`);
  return data.evaluation;
}
