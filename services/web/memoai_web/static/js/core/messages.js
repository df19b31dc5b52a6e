// Friendly, translated text for what went wrong.

import { duration, t } from "./i18n.js";

/** For a failed request (ApiError). */
export function errorMessage(error) {
  if (error?.network) return t(error.code === "timeout" ? "error.timeout" : "error.network");
  switch (error?.status) {
    case 401:
      return t("error.signIn");
    case 403:
      return t("error.forbidden");
    case 404:
      return t("error.notFound");
    case 413:
      return t("error.tooLarge");
    case 429:
      return t("error.rateLimited", { wait: duration(error.retryAfter || 60) });
    case 502:
    case 503:
    case 504:
      return t("error.unavailable");
    default:
      if (error?.status >= 500) return t("error.server");
      return error?.message || t("error.unknown");
  }
}

const FAILURES = {
  llm_timeout: "failure.timeout",
  llm_deadline: "failure.timeout",
  llm_rate_limited: "failure.busy",
  llm_unavailable: "failure.busy",
  llm_circuit_open: "failure.busy",
  llm_bad_output: "failure.badOutput",
  llm_auth_error: "failure.setup",
  llm_bad_request: "failure.setup",
};

/** For an evaluation whose status is "failed". */
export function failureMessage(status) {
  return t(FAILURES[status.error_code] ?? "failure.generic");
}
