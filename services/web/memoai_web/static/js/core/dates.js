// The due date a coach picks: an <input type="datetime-local"> holds a wall
// time in the browser's time zone; the API stores the instant, in UTC.

const pad = (n) => String(n).padStart(2, "0");

/** A Date as a datetime-local value ("YYYY-MM-DDTHH:MM"), in the browser's time zone. */
export function localInput(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value (local time) as the ISO instant in UTC; null if empty or invalid. */
export function utcFromInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value ?? "")) return null;
  const instant = new Date(value); // date and time without a zone: local time (ECMA-262)
  return Number.isNaN(instant.getTime()) ? null : instant.toISOString();
}

/** The browser's time zone, as the page names it beside the due date. */
export function zoneName() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
}
