// The app's shared state and a small event bus. Views keep their DOM between
// tab switches; this holds what several views read, so nothing is fetched twice.

export const state = {
  boot: null,
  config: null, // GET /config/public, loaded once
  session: null, // {kind: "anonymous" | "user", expiresAt, user?}
  results: new Map(), // evaluation id -> finished evaluation
  currentId: null, // the evaluation the Overall and Detailed tabs show
  historyStale: true, // the Progress tab's list needs (re)loading
};

const bus = new EventTarget();

export function on(event, handler) {
  bus.addEventListener(event, (e) => handler(e.detail));
}

export function emit(event, detail) {
  bus.dispatchEvent(new CustomEvent(event, { detail }));
}

/** Record a finished evaluation and make it the one on show. */
export function setResult(evaluation) {
  state.results.set(evaluation.id, evaluation);
  state.currentId = evaluation.id;
  state.historyStale = true;
  emit("result", evaluation);
}
