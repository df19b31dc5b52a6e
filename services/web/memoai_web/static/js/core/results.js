// What the Overall and Detailed tabs share: which evaluation to show, loading it
// once, and the rubric it was scored against.

import { errorMessage } from "./messages.js";
import { load } from "./evaluations.js";
import { dateTime, number, t } from "./i18n.js";
import { reflect } from "./router.js";
import { setResult, state } from "./store.js";
import { showError, showState, slot } from "./dom.js";

/** The rubric an evaluation was scored against (its snapshot), else the live one. */
export function rubricOf(evaluation) {
  return evaluation.rubric ?? state.config?.rubric ?? null;
}

export function scaleOf(evaluation) {
  const own = rubricOf(evaluation)?.scale ?? {};
  const live = state.config?.rubric?.scale ?? {};
  const min = own.min ?? live.min ?? 1;
  const max = own.max ?? live.max ?? 5;
  // Snapshots keep the range, not the level names: borrow the live names while the range matches.
  const labels = own.labels ?? (live.min === min && live.max === max ? live.labels ?? {} : {});
  return { min, max, labels };
}

/** "low" | "mid" | "high": where a score sits on its scale, for colour. */
export function level(score, scale) {
  const share = (score - scale.min) / Math.max(1, scale.max - scale.min);
  return share < 0.375 ? "low" : share < 0.7 ? "mid" : "high";
}

export function levelLabel(score, scale) {
  return scale.labels[String(Math.round(score))] ?? "";
}

export function formatScore(score) {
  return number(score, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** The criteria in rubric order, each with its score entry. */
export function criteriaOf(evaluation) {
  const rubric = rubricOf(evaluation);
  const names = rubric?.criteria?.map((c) => c.name) ?? Object.keys(evaluation.rubric_scores);
  return names
    .filter((name) => evaluation.rubric_scores[name])
    .map((name) => ({ name, ...evaluation.rubric_scores[name] }));
}

/** Show the offline label wherever an offline result appears. */
export function markOffline(container, evaluation) {
  const notice = slot(container, "offline");
  notice.hidden = !evaluation.offline;
  if (evaluation.offline) slot(notice, "notice").textContent = t("result.offlineBody");
}

/**
 * A submission to an assignment: say where its coach review stands (withheld,
 * the AI's awaiting review, or reviewed) and link to it in Assignments. While
 * the feedback is withheld the rest of the view is hidden: there is nothing in it.
 */
export function markReview(container, evaluation) {
  const notice = slot(container, "review");
  const review = evaluation.review;
  const withheld = Boolean(review && review.status !== "released" && evaluation.overall_score === null);
  container.dataset.withheld = String(withheld);
  notice.hidden = !review;
  if (!review) return;
  const released = review.status === "released";
  notice.dataset.kind = released ? "released" : withheld ? "withheld" : "awaiting";
  slot(notice, "review-title").textContent = t(released ? "result.reviewReleasedTitle" : withheld ? "assignments.withheldTitle" : "assignments.awaitingTitle");
  slot(notice, "review-body").textContent = released
    ? t("assignments.releasedBody", { date: dateTime(review.released_at) })
    : t(withheld ? "assignments.withheldBody" : "assignments.awaitingBody");
  slot(notice, "review-link").setAttribute("href", `#/assignments/${encodeURIComponent(evaluation.assignment_id)}`);
}

/**
 * Resolve the evaluation a tab should show (`param` from the address, else the
 * current one) and call `render` with it, showing loading, empty and error views.
 */
export async function showResult(panel, tab, param, render) {
  const id = param ?? state.currentId;
  if (!id) {
    showState(panel, "empty");
    return;
  }
  const cached = state.results.get(id);
  if (cached) {
    if (state.currentId !== id) setResult(cached);
    render(cached);
    showState(panel, "ready");
    reflect(tab, id);
    return;
  }
  showState(panel, "loading");
  try {
    const evaluation = await load(id);
    if (evaluation.status === "failed") {
      showError(panel, t("result.failed"), () => showResult(panel, tab, param, render));
      return;
    }
    setResult(evaluation);
    render(evaluation);
    showState(panel, "ready");
    reflect(tab, id);
  } catch (error) {
    if (error.status === 404) {
      showError(panel, t("error.resultMissing"), () => showResult(panel, tab, null, render));
      return;
    }
    if (error.status === 425) {
      showError(panel, t("result.pending"), () => showResult(panel, tab, param, render));
      return;
    }
    showError(panel, errorMessage(error), () => showResult(panel, tab, param, render));
  }
}
