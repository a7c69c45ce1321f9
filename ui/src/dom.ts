// A tiny DOM builder. Everything is created with createElement and
// textContent: no HTML strings, no inline styles, so the CSP
// (`script-src 'self'; style-src 'self'`) never has anything to refuse and
// no file name can ever be interpreted as markup.

type Child = Node | string | number | null | undefined | false | Child[];

type Props = {
  class?: string | (string | false | null | undefined)[];
  text?: string;
  id?: string;
  /** Attributes (aria-*, role, type, for, …). `false`/null/undefined omit it; `true` sets "". */
  attrs?: Record<string, string | number | boolean | null | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
  dataset?: Record<string, string>;
};

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    if (props.class) el.className = Array.isArray(props.class) ? props.class.filter(Boolean).join(" ") : props.class;
    if (props.id) el.id = props.id;
    if (props.text !== undefined) el.textContent = props.text;
    if (props.attrs) setAttrs(el, props.attrs);
    if (props.dataset) for (const [k, v] of Object.entries(props.dataset)) el.dataset[k] = v;
    if (props.on) {
      for (const [k, fn] of Object.entries(props.on)) el.addEventListener(k, fn as EventListener);
    }
  }
  append(el, children);
  return el;
}

export function setAttrs(el: Element, attrs: Record<string, string | number | boolean | null | undefined>): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") throw new Error("inline styles are not allowed (CSP style-src 'self'); use a class");
    if (v === false || v === null || v === undefined) el.removeAttribute(k);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

let idSeq = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix = "c"): string {
  idSeq++;
  return `${prefix}-${idSeq}`;
}

/** Text for screen readers only. */
export function srOnly(text: string): HTMLSpanElement {
  return h("span", { class: "sr-only", text });
}

// ---------------------------------------------------------------- icons

const SVG = "http://www.w3.org/2000/svg";

// 24×24 stroke icons (shapes in the style of Lucide, ISC licence), drawn
// with DOM calls so no markup string is ever parsed.
const ICONS: Record<string, string[]> = {
  lock: ["M7 11V7a5 5 0 0 1 10 0v4", "M5 11h14v10H5z"],
  unlock: ["M7 11V7a5 5 0 0 1 9.9-1", "M5 11h14v10H5z"],
  home: ["M3 10.5 12 3l9 7.5", "M5 9.5V21h14V9.5", "M10 21v-6h4v6"],
  files: ["M14 3H6v18h12V7z", "M14 3v4h4", "M9 13h6", "M9 17h6"],
  file: ["M14 3H6v18h12V7z", "M14 3v4h4"],
  folder: ["M3 6.5V19h18V8.5h-9l-2-2.5H3z"],
  "folder-lock": ["M3 6.5V19h9", "M21 11V8.5h-9l-2-2.5H3", "M15 16v-1.5a2.5 2.5 0 0 1 5 0V16", "M14 16h7v5h-7z"],
  shield: ["M12 3 4 6v6c0 4.5 3.4 8.3 8 9 4.6-.7 8-4.5 8-9V6z"],
  "shield-check": ["M12 3 4 6v6c0 4.5 3.4 8.3 8 9 4.6-.7 8-4.5 8-9V6z", "m8.5 12 2.5 2.5 4.5-5"],
  settings: [
    "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z",
    "M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z",
  ],
  warning: ["M12 3 2 20h20z", "M12 9v5", "M12 17.5v.01"],
  info: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 11v6", "M12 7.5v.01"],
  check: ["m5 12.5 4.5 4.5L19 7.5"],
  "check-circle": ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "m8 12.5 2.8 2.8L16 10"],
  x: ["M6 6l12 12", "M18 6 6 18"],
  plus: ["M12 5v14", "M5 12h14"],
  search: ["M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z", "m20 20-4-4"],
  upload: ["M12 15V4", "m7 9 5-5 5 5", "M4 15v5h16v-5"],
  download: ["M12 4v11", "m7 10 5 5 5-5", "M4 15v5h16v-5"],
  trash: ["M4 7h16", "M9 7V4h6v3", "M6 7l1 14h10l1-14"],
  open: ["M14 4h6v6", "M20 4l-9 9", "M18 14v6H4V6h6"],
  eye: ["M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z", "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z"],
  "eye-off": ["M3 3l18 18", "M10.6 5.1A10 10 0 0 1 12 5c6.5 0 10 7 10 7a17 17 0 0 1-3.2 4", "M6.6 6.6C3.8 8.4 2 12 2 12s3.5 7 10 7a10 10 0 0 0 5.4-1.6", "M9.9 9.9a3 3 0 0 0 4.2 4.2"],
  key: ["M8 20a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9z", "M11.2 12.3 20 3.5", "M16.5 7l2.5 2.5", "M14 9.5l2 2"],
  user: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4 21a8 8 0 0 1 16 0"],
  "chevron-right": ["m9 6 6 6-6 6"],
  "chevron-up": ["m6 15 6-6 6 6"],
  "chevron-down": ["m6 9 6 6 6-6"],
  "arrow-left": ["M19 12H5", "m11 6-6 6 6 6"],
  activity: ["M3 12h4l3 8 4-16 3 8h4"],
  clock: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 7v5l3 2"],
  building: ["M4 21V4h10v17", "M14 9h6v12", "M8 8h2", "M8 12h2", "M8 16h2", "M2 21h20"],
};

export type IconName = keyof typeof ICONS;

export function icon(name: string, cls = "icon"): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICONS[name] ?? []) {
    const p = document.createElementNS(SVG, "path");
    p.setAttribute("d", d);
    svg.appendChild(p);
  }
  return svg;
}
