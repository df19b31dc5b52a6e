// Interface strings: the catalogue the server picked for this page (see i18n.py).

let strings = {};
let lang = "en";
let numbers = new Intl.NumberFormat("en");
let plurals = new Intl.PluralRules("en");

export function setup(boot) {
  strings = boot.strings;
  lang = boot.lang;
  numbers = new Intl.NumberFormat(lang);
  plurals = new Intl.PluralRules(lang);
}

/** The string for `key` with {placeholders} filled in; the key itself if missing. */
export function t(key, values = {}) {
  const text = strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

/**
 * A count in words: `${key}.${form}` for the language's plural form of `count`
 * (Intl.PluralRules: English one/other, Spanish one/many/other), falling back
 * to `${key}.other`; {count} is the number as the page writes it.
 */
export function plural(key, count, values = {}) {
  const form = plurals.select(count);
  const chosen = `${key}.${form}` in strings ? `${key}.${form}` : `${key}.other`;
  return t(chosen, { ...values, count: number(count) });
}

export function number(value, options) {
  return options ? new Intl.NumberFormat(lang, options).format(value) : numbers.format(value);
}

/** "12 s", "2 min" - a short duration in the page's language. */
export function duration(seconds) {
  if (seconds < 60) {
    return new Intl.NumberFormat(lang, { style: "unit", unit: "second", unitDisplay: "narrow" })
      .format(Math.max(1, Math.round(seconds)));
  }
  return new Intl.NumberFormat(lang, { style: "unit", unit: "minute", unitDisplay: "short" })
    .format(Math.round(seconds / 60));
}

export function dateTime(value) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(value));
}

export function date(value) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(new Date(value));
}

const UNITS = [
  ["year", 365 * 86400], ["month", 30 * 86400], ["week", 7 * 86400],
  ["day", 86400], ["hour", 3600], ["minute", 60],
];

/**
 * "in 3 days", "2 hours ago", "in 5 minutes": how far `value` is from `now`, in
 * the largest unit that fits, as the page's language says it.
 */
export function relative(value, now = Date.now()) {
  const seconds = (new Date(value).getTime() - now) / 1000;
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(Math.trunc(seconds / 60), "minute");
}
