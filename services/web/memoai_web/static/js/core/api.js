// The REST API client: one origin (/api/v1), the response envelope, the session.
//
// Every call resolves to the envelope ({data, meta}) or rejects with an ApiError
// that carries the status, the API's error code and whether the network failed,
// so views can choose between "fix your input", "try again" and "sign in".

let base = "/api/v1";
let timeoutMs = 60_000;
let csrfCookie = "memoai_csrf_token";
let anonymousSessions = true;
let sessionPending = null;
let sessionReady = null; // set by ensureSession(); requests wait for it
const sessionListeners = new Set();

export class ApiError extends Error {
  constructor({ status = 0, code = "error", message = "", field = null, details = null,
    retryAfter = null, requestId = null, network = false, errors = [] }) {
    super(message || code);
    this.name = "ApiError";
    // `errors`: every error of the envelope (a refused config lists each problem).
    Object.assign(this, { status, code, field, details, retryAfter, requestId, network, errors });
  }

  /** Worth retrying as is: the network, a timeout, or the server being busy or down. */
  get transient() {
    return this.network || this.status === 429 || this.status >= 500;
  }
}

export function configure(boot) {
  base = boot.api;
  timeoutMs = (boot.frontend?.performance?.api_timeout ?? 60) * 1000;
  csrfCookie = boot.csrfCookie || csrfCookie;
  anonymousSessions = !boot.authEnabled;
}

function readCookie(name) {
  const prefix = `${name}=`;
  for (const part of document.cookie.split(";")) {
    const item = part.trim();
    if (item.startsWith(prefix)) return decodeURIComponent(item.slice(prefix.length));
  }
  return null;
}

async function send(method, path, { body, raw, headers = {}, timeout = timeoutMs } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const init = {
    method,
    headers: { Accept: "application/json", ...headers },
    credentials: "same-origin",
    signal: controller.signal,
  };
  if (body instanceof FormData) {
    init.body = body; // multipart: the browser sets the boundary
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  } else if (raw !== undefined) {
    init.body = raw; // a Blob or File as is (e.g. a zip); the caller sets Content-Type
  }
  if (method !== "GET") {
    // Cookie-authenticated writes carry the CSRF token once a login has set one.
    const csrf = readCookie(csrfCookie);
    if (csrf) init.headers["X-CSRF-Token"] = csrf;
  }
  let response;
  try {
    response = await fetch(base + path, init);
  } catch (error) {
    const timedOut = controller.signal.aborted;
    throw new ApiError({ code: timedOut ? "timeout" : "network", message: String(error), network: true });
  } finally {
    clearTimeout(timer);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const first = payload?.errors?.[0] ?? {};
    throw new ApiError({
      status: response.status,
      code: first.code ?? `http_${response.status}`,
      message: first.message ?? response.statusText,
      field: first.field ?? null,
      details: first.details ?? null,
      retryAfter: Number(response.headers.get("Retry-After")) || null,
      requestId: payload?.meta?.request_id ?? response.headers.get("X-Request-ID"),
      errors: payload?.errors ?? [],
    });
  }
  return payload ?? { data: null, meta: {} };
}

function sessionLost(error) {
  return error.status === 401 && ["session_invalid", "session_required"].includes(error.code);
}

/**
 * A request; it waits for the session being set up at start-up, and an expired
 * anonymous session is replaced once, transparently.
 */
export async function request(method, path, options = {}) {
  if (sessionReady && options.session !== false) await sessionReady.catch(() => null);
  try {
    return await send(method, path, options);
  } catch (error) {
    if (!(error instanceof ApiError) || !anonymousSessions || !sessionLost(error)) throw error;
    await newSession();
    return send(method, path, options);
  }
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, body, options) => request("POST", path, { ...options, body });

// ---------------------------------------------------------------- session

export function onSession(listener) {
  sessionListeners.add(listener);
}

function announce(session) {
  for (const listener of sessionListeners) listener(session);
  return session;
}

async function newSession() {
  // Concurrent callers share one creation instead of racing for cookies.
  sessionPending ??= send("POST", "/sessions")
    .then(({ data }) => announce({ kind: "anonymous", expiresAt: data.expires_at }))
    .finally(() => { sessionPending = null; });
  return sessionPending;
}

/** Reuse the browser's session cookie when it is still valid, else start one. */
export function ensureSession(hasCookie) {
  sessionReady = hasCookie
    ? send("POST", "/sessions/validate").then(({ data }) => (
      data?.valid ? announce({ kind: "anonymous", expiresAt: data.expires_at }) : newSession()
    ))
    : newSession();
  return sessionReady;
}
