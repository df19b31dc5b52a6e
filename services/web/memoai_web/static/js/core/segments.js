// Commented passages: the API counts positions in Unicode code points (Python
// str indices); JavaScript strings count UTF-16 units, so an emoji before a
// passage would shift every highlight. Convert once, then slice safely.

/** offsets[i] is the UTF-16 index of code point i; offsets[length] is text.length. */
export function codePointOffsets(text) {
  const offsets = [];
  let unit = 0;
  for (const char of text) {
    offsets.push(unit);
    unit += char.length;
  }
  offsets.push(unit);
  return offsets;
}

/**
 * Non-overlapping UTF-16 ranges for the segments, in text order. A segment whose
 * offsets do not match its quote is looked up by its text; one that overlaps an
 * earlier passage is trimmed to start after it; one that cannot be placed is
 * left out of the text (its comment is still listed).
 */
/**
 * Where a segment sits in `text` as UTF-16 {start, end}: at its code-point
 * offsets when they hold its quote, else where its quote first appears; null
 * when it is not in the text. `offsets` is codePointOffsets(text).
 */
function locate(text, offsets, segment) {
  const limit = offsets.length - 1;
  if (Number.isInteger(segment.start) && Number.isInteger(segment.end)
    && segment.start >= 0 && segment.end <= limit && segment.start < segment.end) {
    const start = offsets[segment.start];
    const end = offsets[segment.end];
    if (text.slice(start, end) === segment.segment) return { start, end };
  }
  if (segment.segment) {
    const start = text.indexOf(segment.segment);
    if (start >= 0) return { start, end: start + segment.segment.length };
  }
  return null;
}

export function placeSegments(text, segments) {
  const offsets = codePointOffsets(text);
  const placed = [];
  segments.forEach((segment, index) => {
    const place = locate(text, offsets, segment);
    if (place) placed.push({ index, ...place });
  });
  placed.sort((a, b) => a.start - b.start || a.end - b.end);
  const ranges = [];
  let cursor = 0;
  for (const range of placed) {
    const start = Math.max(range.start, cursor);
    if (start >= range.end) continue;
    ranges.push({ index: range.index, start, end: range.end });
    cursor = range.end;
  }
  return ranges;
}

/** The text cut into runs: {text, index} where index is the segment's or null. */
export function splitText(text, ranges) {
  const runs = [];
  let cursor = 0;
  for (const range of ranges) {
    if (range.start > cursor) runs.push({ text: text.slice(cursor, range.start), index: null });
    runs.push({ text: text.slice(range.start, range.end), index: range.index });
    cursor = range.end;
  }
  if (cursor < text.length) runs.push({ text: text.slice(cursor), index: null });
  return runs;
}

/** Length in code points, as the API counts it. */
export function codePointLength(text) {
  let surrogates = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      surrogates += 1;
      i += 1;
    }
  }
  return text.length - surrogates;
}

/**
 * Overlapping passages (a coach's comment inside one of the AI's): the text cut
 * at every passage's start and end, each run with every segment covering it.
 * `places[i]` is segment i's UTF-16 {start, end}, or null when it is not in the
 * text; runs are {text, start, covers: [segment indices]} in text order.
 */
export function layerSegments(text, segments) {
  const offsets = codePointOffsets(text);
  const places = segments.map((segment) => locate(text, offsets, segment));
  const cuts = new Set([0, text.length]);
  for (const place of places) {
    if (place) cuts.add(place.start).add(place.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const runs = [];
  for (let i = 0; i < points.length - 1; i += 1) {
    const [start, end] = [points[i], points[i + 1]];
    const covers = [];
    places.forEach((place, index) => {
      if (place && place.start <= start && place.end >= end) covers.push(index);
    });
    runs.push({ text: text.slice(start, end), start, covers });
  }
  return { places, runs };
}

/** The code-point offset of UTF-16 index `unit` (a selection's end, say), as the API counts. */
export function codePointIndex(text, unit) {
  return codePointLength(text.slice(0, unit));
}
