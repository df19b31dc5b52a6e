// The review screen's comments: the memo with the AI's and the coach's passages
// highlighted, every comment listed in text order (edit the text and questions
// of any of them, or delete it), and a new comment on the text the coach
// selects, anchored to its exact code-point offsets.

import { post, request } from "../../core/api.js";
import { clear, el, scrollBehavior, slot } from "../../core/dom.js";
import { number, plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import {
  commentOfMark, findQuote, pressMarks, renderHighlights, selectionIn,
} from "../../components/highlights.js";
import { questionsField } from "./review-questions.js";
import { $, confirmAction, enc, problem, refusal } from "./shared.js";

let memo;
let list;
let form;
let countPill;
let onReview = () => {};
let showPane = () => {};
let review = null;
let visible = []; // the comments the writer will see (not deleted), as highlighted
let drawn = { order: [], marks: new Map(), numbers: new Map() };
let picked = null; // the selection the add form was filled from: {start, end, segment}
let addQuestions = null; // the add form's questions field

function sourceChip(comment) {
  return el("span", { class: `source-chip source-${comment.source}` }, t(comment.source === "coach" ? "review.coach" : "review.ai"));
}

function item(comment, position) {
  const deleted = comment.state === "deleted";
  const number_ = position === null ? null : el("span", { class: `hl-num${comment.source === "coach" ? " hl-num-coach" : ""}`, "aria-hidden": "true" }, number(position));
  const stateChip = comment.state === "edited" || deleted
    ? el("span", { class: "kind-chip" }, t(`review.comment.${comment.state}`))
    : null;
  return el(
    "li",
    {
      class: `review-comment${deleted ? " is-deleted" : ""}`,
      "data-comment": comment.id,
      "data-source": comment.source,
      "data-state": comment.state,
      tabindex: "-1",
    },
    el("div", { class: "review-comment-head" }, number_, sourceChip(comment), stateChip, comment.author ? el("span", { class: "muted" }, comment.author) : null),
    el("blockquote", { class: "comment-quote" }, comment.segment),
    el("p", { class: "comment-text", "data-slot": "text" }, comment.comment),
    comment.questions.length
      ? el("ul", { class: "questions", "data-slot": "questions", "aria-label": t("detailed.questions") }, comment.questions.map((q) => el("li", {}, q)))
      : null,
    comment.state === "edited" && comment.ai_comment
      ? el("details", { class: "ai-original" }, el("summary", {}, t("review.aiOriginal")), el("p", {}, comment.ai_comment))
      : null,
    deleted ? el("p", { class: "muted" }, t("review.deletedNote")) : el(
      "div",
      { class: "comment-actions" },
      el("button", { type: "button", class: "btn btn-small", "data-action": "edit" }, t("review.edit")),
      el("button", { type: "button", class: "btn btn-small btn-ghost", "data-action": "delete" }, t("review.delete")),
    ),
  );
}

export function render(value) {
  review = value;
  visible = review.comments.filter((c) => c.state !== "deleted");
  drawn = renderHighlights(memo, review.text_content, visible);
  countPill.textContent = plural("detailed.count", visible.length);
  const listNode = clear(list);
  const placed = new Set(drawn.order);
  for (const index of drawn.order) listNode.append(item(visible[index], drawn.numbers.get(index)));
  visible.forEach((comment, index) => {
    if (!placed.has(index)) listNode.append(item(comment, null));
  });
  for (const comment of review.comments.filter((c) => c.state === "deleted")) listNode.append(item(comment, null));
  if (!review.comments.length) listNode.append(el("li", { class: "muted" }, t("detailed.none")));
}

/** A fresh, empty questions field in the add form. */
function resetQuestions() {
  const fresh = questionsField("comment-add-questions");
  if (addQuestions) addQuestions.node.replaceWith(fresh.node);
  else $("comment-add-error").before(fresh.node);
  addQuestions = fresh;
}

/** Forget the add form's passage and questions (another submission is opened). */
export function reset() {
  picked = null;
  form.reset();
  resetQuestions();
  problem($("comment-add-error"), null);
}

function pick(commentId, { scroll = true } = {}) {
  const index = visible.findIndex((c) => c.id === commentId);
  pressMarks(memo, drawn.marks, index);
  const node = list.querySelector(`[data-comment="${CSS.escape(commentId)}"]`);
  for (const other of list.querySelectorAll(".review-comment.is-picked")) other.classList.remove("is-picked");
  node?.classList.add("is-picked");
  if (scroll) {
    showPane("comments");
    node?.focus({ preventScroll: true });
    node?.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
  }
}

function fromSelection() {
  const chosen = selectionIn(memo, review?.text_content ?? "");
  if (!chosen) return;
  picked = chosen;
  form.elements.segment.value = chosen.segment;
  problem($("comment-add-error"), null);
  showPane("comments");
  form.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
}

async function add(event) {
  event.preventDefault();
  const errorBox = $("comment-add-error");
  const quote = form.elements.segment.value;
  const text = form.elements.comment.value.trim();
  const place = picked && picked.segment === quote ? picked : findQuote(review.text_content, quote.trim());
  if (!quote.trim()) {
    problem(errorBox, t("review.passageMissing"));
    form.elements.segment.focus();
    return;
  }
  if (!place) {
    problem(errorBox, t("review.passageNotFound"));
    form.elements.segment.focus();
    return;
  }
  if (!text) {
    problem(errorBox, t("review.commentMissing"));
    form.elements.comment.focus();
    return;
  }
  const before = new Set(review.comments.map((c) => c.id));
  form.setAttribute("aria-busy", "true");
  try {
    const body = { start: place.start, end: place.end, segment: place.segment, comment: text, questions: addQuestions.values() };
    const { data } = await post(`/reviews/${enc(review.evaluation_id)}/comments`, body);
    reset();
    const added = data.comments.find((c) => !before.has(c.id));
    onReview(data, { announce: t("review.commentAdded") });
    if (added) pick(added.id);
  } catch (error) {
    problem(errorBox, refusal(error, errorMessage));
  } finally {
    form.removeAttribute("aria-busy");
  }
}

function edit(node) {
  const comment = review.comments.find((c) => c.id === node.dataset.comment);
  const textId = `edit-${comment.id}`.replace(/[^\w-]/g, "-");
  const area = el("textarea", { class: "input", id: textId, name: "comment", rows: "3", maxlength: "2000" });
  area.value = comment.comment;
  const questions = questionsField(`${textId}-questions`, comment.questions);
  const editor = el(
    "form",
    { class: "comment-edit", novalidate: true },
    el("label", { class: "label", for: textId }, t("review.editLabel")),
    area,
    questions.node,
    el("p", { class: "field-error", role: "alert", hidden: true, "data-slot": "error" }),
    el(
      "div",
      { class: "form-actions" },
      el("button", { type: "submit", class: "btn btn-small btn-primary" }, t("review.saveComment")),
      el("button", { type: "button", class: "btn btn-small btn-ghost", "data-action": "cancel-edit" }, t("action.cancel")),
    ),
  );
  slot(node, "text").hidden = true;
  if (slot(node, "questions")) slot(node, "questions").hidden = true;
  node.querySelector(".comment-actions").hidden = true;
  node.append(editor);
  area.focus();
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeEditor(node);
    }
  });
  editor.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = area.value.trim();
    if (!value) {
      problem(slot(editor, "error"), t("review.commentMissing"));
      area.focus();
      return;
    }
    // Send only what changed: the audit trail then says what the coach did, and
    // an AI comment longer than the coach's limit can still get new questions.
    const body = {};
    if (value !== comment.comment) body.comment = value;
    const asked = questions.values();
    if (JSON.stringify(asked) !== JSON.stringify(comment.questions)) body.questions = asked;
    if (!Object.keys(body).length) {
      closeEditor(node);
      return;
    }
    editor.setAttribute("aria-busy", "true");
    try {
      const { data } = await request("PATCH", `/reviews/${enc(review.evaluation_id)}/comments/${enc(comment.id)}`, { body });
      onReview(data, { announce: t("review.commentSaved") });
      pick(comment.id);
    } catch (error) {
      editor.removeAttribute("aria-busy");
      problem(slot(editor, "error"), refusal(error, errorMessage));
    }
  });
}

function closeEditor(node) {
  node.querySelector(".comment-edit")?.remove();
  slot(node, "text").hidden = false;
  if (slot(node, "questions")) slot(node, "questions").hidden = false;
  node.querySelector(".comment-actions").hidden = false;
  node.querySelector("[data-action='edit']").focus();
}

async function remove(node) {
  const comment = review.comments.find((c) => c.id === node.dataset.comment);
  const ok = await confirmAction({
    title: t("review.deleteTitle"),
    message: t(comment.source === "ai" ? "review.deleteAiBody" : "review.deleteBody", { quote: comment.segment.slice(0, 80) }),
    action: t("review.delete"),
  });
  if (!ok) return;
  try {
    const { data } = await request("DELETE", `/reviews/${enc(review.evaluation_id)}/comments/${enc(comment.id)}`);
    onReview(data, { announce: t("review.commentDeleted") });
  } catch (error) {
    problem($("comment-add-error"), refusal(error, errorMessage));
  }
}

export function init({ memoNode, listNode, formNode, countNode, changed, pane }) {
  memo = memoNode;
  list = listNode;
  form = formNode;
  countPill = countNode;
  onReview = changed;
  showPane = pane;
  resetQuestions();
  memo.addEventListener("click", (event) => {
    const mark = event.target.closest("mark.hl");
    // A drag that selects text ends in a click too: then the coach is choosing a passage.
    if (!mark || !window.getSelection()?.isCollapsed) return;
    const index = commentOfMark(mark, visible);
    if (index !== null) pick(visible[index].id);
  });
  memo.addEventListener("keydown", (event) => {
    const mark = event.target.closest("mark.hl");
    if (mark && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      const index = commentOfMark(mark, visible);
      if (index !== null) pick(visible[index].id);
    }
  });
  memo.addEventListener("mouseup", () => setTimeout(fromSelection, 0));
  memo.addEventListener("keyup", (event) => {
    if (event.shiftKey) fromSelection();
  });
  form.addEventListener("submit", add);
  form.elements.segment.addEventListener("input", () => {
    if (picked && picked.segment !== form.elements.segment.value) picked = null;
  });
  list.addEventListener("click", (event) => {
    const node = event.target.closest(".review-comment");
    if (!node) return;
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "edit") edit(node);
    else if (action === "delete") remove(node);
    else if (action === "cancel-edit") closeEditor(node);
    else if (!event.target.closest("form, button, a, summary")) {
      pick(node.dataset.comment, { scroll: false });
      drawn.marks.get(visible.findIndex((c) => c.id === node.dataset.comment))?.[0]?.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
    }
  });
}
