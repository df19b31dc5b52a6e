// Upload a document into the Write tab's editor: POST /documents/extract reads a
// .docx, .pdf, .txt or .md file (by its content; nothing is stored), the text goes
// into the editor with a note (file, length, warnings) for the writer to check,
// and is then submitted like typed text - so comment offsets refer to exactly it.

import { ApiError, post } from "../core/api.js";
import { number, plural, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { slot } from "../core/dom.js";

const MB = 1_048_576;

/** A size in MB with one decimal; rounded up for a file, so 5 MB + 1 byte is not "5 MB". */
export function megabytes(bytes, { up = false } = {}) {
  const value = up ? Math.ceil((bytes / MB) * 10) / 10 : bytes / MB;
  return number(value, { maximumFractionDigits: 1 });
}

/** One clear sentence per refusal code of the extract endpoint. */
export function uploadErrorMessage(error, maxBytes) {
  if (!(error instanceof ApiError) || error.network) return errorMessage(error);
  const d = error.details ?? {};
  switch (error.code) {
    case "file_too_large":
      return t("upload.error.tooLarge", {
        size: megabytes(d.size, { up: true }),
        max: megabytes(d.max_size ?? maxBytes),
      });
    case "payload_too_large":
      return t("upload.error.tooLargeRequest", { max: megabytes(maxBytes) });
    case "unsupported_type":
    case "unsupported_media_type":
      return t("upload.error.unsupported");
    case "pdf_encrypted":
      return t("upload.error.pdfEncrypted");
    case "pdf_no_text":
      return plural("upload.error.pdfNoText", d.pages ?? 1);
    case "pdf_invalid":
      return t("upload.error.pdfInvalid");
    case "docx_invalid":
      return t("upload.error.docxInvalid");
    case "docx_encrypted":
      return t("upload.error.docxEncrypted");
    case "docx_too_large":
      return t("upload.error.docxTooLarge");
    case "text_too_long":
      return t(d.exact === false ? "upload.error.tooLongAtLeast" : "upload.error.tooLong", {
        length: number(d.length ?? 0),
        max: number(d.max_length ?? 0),
      });
    case "not_utf8":
      return t("upload.error.notUtf8");
    case "empty_document":
      return t("upload.error.empty");
    case "extraction_timeout":
      return t("upload.error.timeout", { seconds: number(d.timeout_seconds ?? 10) });
    case "document_unreadable":
      return t("upload.error.unreadable");
    case "extraction_busy":
      return t("upload.error.busy");
    default:
      return errorMessage(error);
  }
}

/** A warning about the extracted text, in the page's language (the API's English otherwise). */
export function warningMessage(warning) {
  const d = warning.details ?? {};
  switch (warning.code) {
    case "pdf_pages_without_text":
      return plural("upload.warning.pagesWithoutText", d.count ?? 1, {
        pages: (d.pages ?? []).map((page) => number(page)).join(", "),
      });
    case "docx_tracked_changes":
      return t("upload.warning.trackedChanges");
    case "docx_text_boxes_skipped":
      return t("upload.warning.textBoxes");
    case "images_ignored":
      return t("upload.warning.images");
    case "control_characters_removed":
      return plural("upload.warning.controlCharacters", d.count ?? 1);
    default:
      return warning.message;
  }
}

function hasFiles(event) {
  return Array.from(event.dataTransfer?.types ?? []).includes("Files");
}

/**
 * Wire the upload button, the file input and dropping a file on the form.
 * `editor` gives the text area's value and replaces it: {get(), set(text), busy()}.
 */
export function setupUpload({ form, editor, maxBytes, announce, loginRequired }) {
  const button = document.getElementById("upload-btn");
  const input = document.getElementById("upload-input");
  const errorBox = document.getElementById("upload-error");
  const note = document.getElementById("upload-note");
  const label = button.querySelector("span");
  let uploading = false;
  let previous = null; // the editor's text before the last upload, for Undo

  function showError(message) {
    errorBox.hidden = !message;
    errorBox.textContent = message ?? "";
  }

  function hideNote() {
    note.hidden = true;
    previous = null;
  }

  function showNote(extracted) {
    const summary = plural("upload.loaded", extracted.char_count, { name: extracted.filename });
    slot(note, "summary").textContent = summary;
    const list = slot(note, "warnings");
    list.replaceChildren(
      ...extracted.warnings.map((warning) => {
        const item = document.createElement("li");
        item.textContent = warningMessage(warning);
        item.dataset.code = warning.code;
        return item;
      }),
    );
    list.hidden = extracted.warnings.length === 0;
    note.hidden = false;
    return summary;
  }

  function setUploading(value, name = "") {
    uploading = value;
    button.disabled = value;
    button.setAttribute("aria-busy", String(value));
    form.dataset.drop = value ? "busy" : "idle";
    label.textContent = value ? t("upload.reading", { name }) : t("upload.button");
  }

  async function upload(file) {
    if (!file || uploading || editor.busy()) return;
    showError(null);
    if (file.size > maxBytes) {
      showError(t("upload.error.tooLarge", { size: megabytes(file.size, { up: true }), max: megabytes(maxBytes) }));
      return;
    }
    const body = new FormData();
    body.append("file", file, file.name);
    setUploading(true, file.name);
    try {
      const { data } = await post("/documents/extract", body);
      const before = editor.get();
      editor.set(data.text);
      previous = before;
      announce(showNote(data));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) loginRequired();
      showError(uploadErrorMessage(error, maxBytes));
    } finally {
      setUploading(false);
      input.value = ""; // choosing the same file again is a new upload
    }
  }

  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => upload(input.files?.[0]));
  document.getElementById("upload-undo").addEventListener("click", () => {
    if (previous !== null) editor.set(previous);
    hideNote();
    showError(null);
  });

  // Dropping a file anywhere on the form; dropped text still goes into the editor as usual.
  let depth = 0;
  form.addEventListener("dragenter", (event) => {
    if (!hasFiles(event) || uploading) return;
    event.preventDefault();
    depth += 1;
    form.dataset.drop = "over";
  });
  form.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = uploading ? "none" : "copy";
  });
  form.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0 && form.dataset.drop === "over") form.dataset.drop = "idle";
  });
  form.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    form.dataset.drop = "idle";
    upload(event.dataTransfer.files[0]);
  });

  return { hideNote, clearError: () => showError(null) };
}
