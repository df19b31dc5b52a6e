// A small RFC 4180 CSV reader: quoted fields may hold commas, doubled quotes and
// line breaks; records end with CRLF or LF. Written here rather than pulled in,
// because bulk upload needs only this much.

/**
 * The records of `text` as arrays of strings. A leading byte-order mark is
 * dropped; `error` is set (with the 1-based line) when a quote is never closed.
 */
export function parseCsv(text) {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let quoteLine = 0;
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (quoted) {
      if (ch === '"') {
        if (source[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (ch === "\n") line += 1;
        field += ch;
      }
      i += 1;
      continue;
    }
    if (ch === '"' && field === "") {
      quoted = true;
      quoteLine = line;
    } else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      if (ch === "\r" && source[i + 1] === "\n") i += 1;
      line += 1;
    } else {
      field += ch;
    }
    i += 1;
  }
  if (quoted) return { records, error: { line: quoteLine } };
  if (field !== "" || record.length) {
    record.push(field);
    records.push(record);
  }
  return { records, error: null };
}
