// Window math for the virtualized file list: which rows to put in the DOM
// for a scroll position. Only these rows exist as elements, so 100,000
// files cost the same as 30.

export type Range = { start: number; end: number };

/** Rows [start, end) that cover the viewport plus `overscan` rows each side. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 6,
): Range {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const top = Math.max(0, scrollTop);
  const first = Math.floor(top / rowHeight);
  const last = Math.ceil((top + Math.max(0, viewportHeight)) / rowHeight);
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, Math.max(start, last + overscan));
  return { start, end };
}

/** The scrollTop that brings row `index` fully into view, changing as little as possible. */
export function revealScrollTop(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}

/** Rows per page for PageUp/PageDown. */
export function pageSize(viewportHeight: number, rowHeight: number): number {
  return Math.max(1, Math.floor(viewportHeight / rowHeight) - 1);
}

/** Moves an active index by a key, clamped to the list. */
export function moveIndex(cur: number, key: string, count: number, page: number): number {
  if (count === 0) return -1;
  const c = cur < 0 ? -1 : cur;
  switch (key) {
    case "ArrowDown":
      return Math.min(count - 1, c + 1);
    case "ArrowUp":
      return c < 0 ? 0 : Math.max(0, c - 1);
    case "PageDown":
      return Math.min(count - 1, Math.max(0, c) + page);
    case "PageUp":
      return Math.max(0, c - page);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return cur;
  }
}
