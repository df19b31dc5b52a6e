// The questions a comment asks the writer, as a small editable list: change,
// add (up to the API's six) and remove them, in the coach's edit form of any
// comment and in the form that adds one. Blank rows are dropped on save; Enter
// in a question submits its form, as in any other field.

import { el } from "../../core/dom.js";
import { number, t } from "../../core/i18n.js";

export const MAX_QUESTIONS = 6; // CommentEdit / CommentCreate: at most six
const MAX_LENGTH = 500; // characters of one question (the API's limit)

/**
 * A fieldset editing `initial` questions. `idBase` keeps the inputs' ids unique
 * on the page. Returns {node, values()}: values() is the trimmed, non-blank list.
 */
export function questionsField(idBase, initial = []) {
  const list = el("ol", { class: "question-rows" });
  const addButton = el("button", { type: "button", class: "btn btn-small", "data-action": "add-question" }, t("review.addQuestion"));
  const hint = el("p", { class: "field-hint muted question-hint", id: `${idBase}-hint` });
  const node = el(
    "fieldset",
    { class: "question-field", "aria-describedby": hint.id },
    el("legend", { class: "label" }, t("review.questions")),
    list,
    hint,
    addButton,
  );
  let serial = 0;

  function refresh() {
    const rows = [...list.children];
    rows.forEach((row, index) => {
      const label = row.querySelector("label");
      label.textContent = t("review.questionN", { n: number(index + 1) });
      row.querySelector("[data-action='remove-question']").setAttribute("aria-label", t("review.removeQuestion", { n: number(index + 1) }));
    });
    const full = rows.length >= MAX_QUESTIONS;
    addButton.disabled = full;
    hint.textContent = full
      ? t("review.questionsFull", { max: number(MAX_QUESTIONS) })
      : t("review.questionsHint", { max: number(MAX_QUESTIONS) });
  }

  function addRow(value = "") {
    serial += 1;
    const id = `${idBase}-q${serial}`;
    const input = el("input", { class: "input", id, name: "question", maxlength: String(MAX_LENGTH), autocomplete: "off" });
    input.value = value;
    list.append(el(
      "li",
      { class: "question-row" },
      el("label", { class: "label visually-hidden", for: id }),
      input,
      el("button", { type: "button", class: "btn btn-small btn-ghost", "data-action": "remove-question" }, t("review.remove")),
    ));
    refresh();
    return input;
  }

  node.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "add-question" && list.children.length < MAX_QUESTIONS) {
      addRow().focus();
    } else if (action === "remove-question") {
      const row = event.target.closest(".question-row");
      const next = row.nextElementSibling ?? row.previousElementSibling;
      row.remove();
      refresh();
      // Keep the focus in the list: on the neighbour's input, else on Add.
      (next?.querySelector("input") ?? addButton).focus();
    }
  });
  for (const question of initial.slice(0, MAX_QUESTIONS)) addRow(question);
  refresh();
  return {
    node,
    values: () => [...list.querySelectorAll("input[name='question']")].map((i) => i.value.trim()).filter(Boolean),
  };
}
