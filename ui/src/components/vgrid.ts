// A virtualized, keyboard-driven grid. Only the rows in view (plus a few)
// exist in the DOM; the grid element is the scroll container and the focus
// target, and points at the active row with aria-activedescendant. The
// column header stays put with position: sticky.
//
// Row positions are set through the CSSOM (element.style), which the CSP's
// `style-src 'self'` allows; no style attribute is ever written as text.

import { h, uid } from "../dom";
import { moveIndex, pageSize, revealScrollTop, visibleRange } from "../virtual";

export type Column = {
  key: string;
  label: string;
  class?: string;
  /** Sortable columns render their header as a button. */
  sortable?: boolean;
};

export type GridOpts<T> = {
  label: string;
  columns: Column[];
  rowHeight: number;
  renderCells: (item: T, index: number) => HTMLElement[];
  rowClass?: (item: T) => string;
  onActivate: (item: T, index: number) => void;
  onKey?: (e: KeyboardEvent, item: T | null, index: number) => boolean;
  onSort?: (key: string) => void;
  onActiveChange?: (item: T | null, index: number) => void;
};

export class VirtualGrid<T> {
  readonly el: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private readonly head: HTMLDivElement;
  private readonly headers = new Map<string, HTMLElement>();
  private items: T[] = [];
  private active = -1;
  private rendered = new Map<number, HTMLElement>();
  private frame = 0;
  private readonly idBase = uid("row");
  private resizeObs: ResizeObserver | null = null;
  private lastRange = { start: 0, end: 0 };

  constructor(private readonly o: GridOpts<T>) {
    const headRow = h("div", { class: "grid-row grid-head-row", attrs: { role: "row", "aria-rowindex": 1 } });
    for (const c of o.columns) {
      const cell = h("div", { class: ["grid-cell", "grid-colhead", c.class], attrs: { role: "columnheader" } });
      if (c.sortable) {
        const b = h("button", { class: "sort-btn", attrs: { type: "button" } }, h("span", { text: c.label }), h("span", { class: "sort-ind", attrs: { "aria-hidden": "true" } }));
        b.addEventListener("click", () => o.onSort?.(c.key));
        b.addEventListener("mousedown", (e) => e.preventDefault());
        cell.appendChild(b);
      } else {
        cell.textContent = c.label;
      }
      this.headers.set(c.key, cell);
      headRow.appendChild(cell);
    }
    this.head = h("div", { class: "grid-head", attrs: { role: "rowgroup" } }, headRow);
    this.body = h("div", { class: "grid-body", attrs: { role: "rowgroup" } });
    this.el = h(
      "div",
      {
        class: "grid",
        attrs: { role: "grid", tabindex: "0", "aria-label": o.label, "aria-colcount": o.columns.length, "aria-rowcount": 1, "aria-multiselectable": "false" },
      },
      this.head,
      this.body,
    );
    this.el.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.el.addEventListener("keydown", (e) => this.onKey(e));
    this.body.addEventListener("click", (e) => {
      const i = this.indexFromEvent(e);
      if (i >= 0) {
        this.setActive(i, false);
        this.el.focus({ preventScroll: true });
      }
    });
    this.body.addEventListener("dblclick", (e) => {
      const i = this.indexFromEvent(e);
      if (i >= 0 && this.items[i] !== undefined) this.o.onActivate(this.items[i]!, i);
    });
    if (typeof ResizeObserver !== "undefined") {
      this.resizeObs = new ResizeObserver(() => this.schedule());
      this.resizeObs.observe(this.el);
    }
  }

  /** Header sort indicators: aria-sort on the column header, arrow for sighted users. */
  setSort(key: string, dir: "asc" | "desc"): void {
    for (const [k, cell] of this.headers) {
      const col = this.o.columns.find((c) => c.key === k);
      if (!col?.sortable) continue;
      if (k === key) cell.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
      else cell.setAttribute("aria-sort", "none");
      const ind = cell.querySelector(".sort-ind");
      if (ind) ind.textContent = k === key ? (dir === "asc" ? "▲" : "▼") : "";
    }
  }

  setItems(items: T[], keepActive?: (item: T) => boolean, resetScroll = false): void {
    this.items = items;
    let next = -1;
    if (keepActive) next = items.findIndex(keepActive);
    if (next < 0 && items.length > 0) next = Math.min(Math.max(this.active, 0), items.length - 1);
    if (items.length === 0) next = -1;
    this.active = next;
    this.el.setAttribute("aria-rowcount", String(items.length + 1));
    this.body.style.height = `${items.length * this.o.rowHeight}px`;
    if (resetScroll) this.el.scrollTop = 0;
    for (const el of this.rendered.values()) el.remove();
    this.rendered.clear();
    this.render();
    if (resetScroll && this.active >= 0) this.reveal(this.active);
    this.o.onActiveChange?.(this.activeItem(), this.active);
  }

  activeItem(): T | null {
    return this.active >= 0 ? (this.items[this.active] ?? null) : null;
  }

  activeIndex(): number {
    return this.active;
  }

  /** Number of row elements currently in the DOM (for tests and diagnostics). */
  domRows(): number {
    return this.rendered.size;
  }

  setActive(i: number, reveal = true): void {
    if (i < 0 || i >= this.items.length) return;
    this.active = i;
    if (reveal) this.reveal(i);
    this.render();
    this.o.onActiveChange?.(this.activeItem(), i);
  }

  focus(): void {
    this.el.focus();
  }

  destroy(): void {
    this.resizeObs?.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  private headHeight(): number {
    return this.head.offsetHeight;
  }

  private viewportRows(): number {
    return Math.max(this.o.rowHeight, this.el.clientHeight - this.headHeight());
  }

  private reveal(i: number): void {
    const top = revealScrollTop(i, this.el.scrollTop, this.viewportRows(), this.o.rowHeight);
    if (top !== this.el.scrollTop) this.el.scrollTop = top;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private rowId(i: number): string {
    return `${this.idBase}-${i}`;
  }

  private render(): void {
    const { start, end } = visibleRange(this.el.scrollTop, this.viewportRows(), this.o.rowHeight, this.items.length, 8);
    this.lastRange = { start, end };
    const want = new Set<number>();
    for (let i = start; i < end; i++) want.add(i);
    // The active row is always in the DOM so aria-activedescendant resolves.
    if (this.active >= 0) want.add(this.active);
    for (const [i, el] of this.rendered) {
      if (!want.has(i)) {
        el.remove();
        this.rendered.delete(i);
      }
    }
    for (const i of want) {
      let el = this.rendered.get(i);
      if (!el) {
        el = this.buildRow(i);
        this.rendered.set(i, el);
        this.body.appendChild(el);
      }
      const sel = i === this.active;
      el.setAttribute("aria-selected", sel ? "true" : "false");
      el.classList.toggle("is-active", sel);
    }
    if (this.active >= 0) this.el.setAttribute("aria-activedescendant", this.rowId(this.active));
    else this.el.removeAttribute("aria-activedescendant");
  }

  private buildRow(i: number): HTMLElement {
    const item = this.items[i]!;
    const row = h("div", {
      id: this.rowId(i),
      class: ["grid-row", this.o.rowClass?.(item)],
      attrs: { role: "row", "aria-rowindex": i + 2 },
      dataset: { index: String(i) },
    });
    row.style.transform = `translateY(${i * this.o.rowHeight}px)`;
    const cells = this.o.renderCells(item, i);
    cells.forEach((c, ci) => {
      c.setAttribute("role", "gridcell");
      c.classList.add("grid-cell");
      const cls = this.o.columns[ci]?.class;
      if (cls) c.classList.add(cls);
      row.appendChild(c);
    });
    return row;
  }

  private indexFromEvent(e: Event): number {
    const row = (e.target as HTMLElement | null)?.closest<HTMLElement>(".grid-row[data-index]");
    return row ? Number(row.dataset.index) : -1;
  }

  private onKey(e: KeyboardEvent): void {
    if (e.target !== this.el) return;
    const item = this.activeItem();
    if (this.o.onKey?.(e, item, this.active)) {
      e.preventDefault();
      return;
    }
    if (e.key === "Enter" && item) {
      e.preventDefault();
      this.o.onActivate(item, this.active);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const page = pageSize(this.viewportRows(), this.o.rowHeight);
    const next = moveIndex(this.active, e.key, this.items.length, page);
    if (next !== this.active || ["ArrowDown", "ArrowUp", "PageDown", "PageUp", "Home", "End"].includes(e.key)) {
      if (["ArrowDown", "ArrowUp", "PageDown", "PageUp", "Home", "End"].includes(e.key)) {
        e.preventDefault();
        if (next >= 0) this.setActive(next, true);
      }
    }
  }

  /** First and last rows in the DOM window (for tests). */
  range(): { start: number; end: number } {
    return this.lastRange;
  }
}
