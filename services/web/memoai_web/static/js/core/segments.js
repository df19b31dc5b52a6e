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
export function placeSegments(text, segments) {
  const offsets = codePointOffsets(text);
  const limit = offsets.length - 1;
  const placed = [];
  segments.forEach((segment, index) => {
    let start = -1;
    let end = -1;
    if (Number.isInteger(segment.start) && Number.isInteger(segment.end)
      && segment.start >= 0 && segment.end <= limit && segment.start < segment.end) {
      start = offsets[segment.start];
      end = offsets[segment.end];
      if (text.slice(start, end) !== segment.segment) start = -1;
    }
    if (start < 0 && segment.segment) {
      start = text.indexOf(segment.segment);
      end = start + segment.segment.length;
    }
    if (start >= 0) placed.push({ index, start, end });
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
