// Activity: the vault's tamper-evident log as a timeline — whether the
// chain of records is intact, filters, activity per day, every record
// (virtualized: thousands of rows cost the same as thirty), and the
// access and incident reports.

import type { VaultContext, View } from "../view";
import { showModal } from "../components/dialog";
import { textField } from "../components/fields";
import { toast, toastError } from "../components/toast";
import { VirtualGrid } from "../components/vgrid";
import { errorDetails } from "../components/error-details";
import { h, icon, uid } from "../dom";
import { formatFileDate, formatFullDate, plural } from "../format";
import {
  api,
  describeError,
  pickSavePath,
  toIpcError,
  type AuditView,
  type IncidentFormat,
  type IncidentSummary,
  type ReportFormat,
} from "../ipc";
import { chartBars, dayLabel, filtersToQuery, hasFilters, niceMax, NO_FILTERS, periodError, periodRange, PERIODS, type AuditFilters } from "../audit-model";
import { buildTimeline, CATEGORY_CHOICES, eventsPerDay, filterTimeline, PROGRAM_LABEL, whoText, type TimelineEvent } from "../timeline";

export const AUDIT_ROW_HEIGHT = 60;

const REPORT_FORMATS: { value: ReportFormat; label: string; filter: string }[] = [
  { value: "pdf", label: "PDF — to print or send", filter: "PDF document" },
  { value: "html", label: "Web page (HTML)", filter: "Web page" },
  { value: "csv", label: "Spreadsheet (CSV)", filter: "CSV spreadsheet" },
  { value: "json", label: "Data (JSON)", filter: "JSON data" },
];

/** The verdict in plain words first, then what to do about it. */
const VERDICT: Record<string, { tone: "ok" | "bad" | "unknown"; answer: string; steps: string[] }> = {
  holds: {
    tone: "ok",
    answer: "Yes — the files were locked and encrypted when the computer was lost.",
    steps: [
      "Give the report to your privacy officer or IT: it is the evidence for not reporting a breach.",
      "Keep a copy with your incident records.",
      "Ask IT to change the passwords used on that computer.",
    ],
  },
  does_not_hold: {
    tone: "bad",
    answer: "No — the vault was unlocked at that time, so the files could be read.",
    steps: [
      "Tell your privacy officer or IT today: the loss may have to be reported as a breach.",
      "Give them this report; it shows when the vault was last unlocked and which files were opened.",
      "Change the vault's passphrase from another computer if you can, and ask IT to change other passwords used on it.",
    ],
  },
  cannot_be_established: {
    tone: "unknown",
    answer: "Coffer can't tell from this computer's log whether the files were safe.",
    steps: [
      "Give the report to your privacy officer or IT: it says what is missing.",
      "IT can check the copy of the log your organisation keeps, if it keeps one.",
      "Until it is settled, treat the loss as possibly reportable.",
    ],
  },
};

function rowNs(r: { time: string }): number {
  const ms = Date.parse(r.time);
  return Number.isFinite(ms) ? ms * 1e6 : 0;
}

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** The value of a datetime-local input for now, to the minute. */
function nowLocalInput(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function selectField(label: string, options: { value: string; label: string }[], cls?: string): { wrap: HTMLElement; select: HTMLSelectElement } {
  const id = uid("sel");
  const select = h("select", { id, class: ["select", cls] }, options.map((o) => h("option", { text: o.label, attrs: { value: o.value } })));
  return { wrap: h("div", { class: "field" }, h("label", { class: "label", attrs: { for: id }, text: label }), select), select };
}

export function activityView(_app: VaultContext): View {
  let filters: AuditFilters = { ...NO_FILTERS };
  let data: AuditView | null = null;
  let events: TimelineEvent[] = [];
  let allEvents: TimelineEvent[] = [];
  let showInternal = false;
  let seq = 0;
  let destroyed = false;
  let fileTimer: ReturnType<typeof setTimeout> | null = null;
  const now = Date.now();

  // ---- header
  const exportBtn = h("button", { class: "btn btn-primary", attrs: { type: "button" } }, icon("download"), h("span", { text: "Export access report…" }));
  const incidentBtn = h("button", { class: "btn btn-secondary", attrs: { type: "button" } }, icon("warning"), h("span", { text: "Incident report…" }));
  const header = h(
    "header",
    { class: "page-head" },
    h(
      "div",
      null,
      h("h1", { class: "page-title", text: "Activity" }),
      h("p", { class: "page-sub", text: "Everything done with the vault on this computer, from its tamper-evident log." }),
    ),
    h("div", { class: "page-actions" }, incidentBtn, exportBtn),
  );

  // ---- chain verification
  const chainBox = h("div", { class: "chain chain-loading" }, h("span", { class: "muted", text: "Checking the log…" }));

  // ---- filters
  const mkInput = (label: string, type: string, cls: string, placeholder?: string) => {
    const id = uid("flt");
    const input = h("input", { id, class: ["input", cls], attrs: { type, placeholder, autocomplete: "off", spellcheck: "false" } });
    return { wrap: h("div", { class: "field" }, h("label", { class: "label", attrs: { for: id }, text: label }), input), input };
  };
  // A period choice, not two empty date fields: an empty native date field
  // shows a greyed "mm/dd/yyyy" that reads like an active filter. The
  // fields appear only for "Choose dates…", filled with real dates.
  const period = selectField("Period", PERIODS, "select-filter");
  const from = mkInput("From", "date", "input-date");
  const to = mkInput("To", "date", "input-date");
  from.wrap.hidden = to.wrap.hidden = true;
  const action = selectField("Show", [{ value: "", label: "Everything" }, ...CATEGORY_CHOICES], "select-filter select-what");
  const user = selectField("User", [{ value: "", label: "Everyone" }], "select-filter");
  const file = mkInput("File name", "search", "input-file", "Any file");
  const internalId = uid("internal");
  const internalBox = h("input", { id: internalId, class: "checkbox", attrs: { type: "checkbox" } });
  const internalWrap = h("div", { class: "field field-check" }, h("label", { class: "check", attrs: { for: internalId } }, internalBox, h("span", { text: "Include status records (for IT)" })));
  const clearBtn = h("button", { class: "btn btn-ghost btn-sm filters-clear", text: "Clear filters", attrs: { type: "button" } });
  const filterError = h("p", { class: "field-error filters-error", attrs: { hidden: true, role: "alert" } });
  const filterBar = h(
    "form",
    { class: "filters", attrs: { role: "search", "aria-label": "Filter activity", novalidate: true } },
    period.wrap,
    from.wrap,
    to.wrap,
    action.wrap,
    user.wrap,
    file.wrap,
  );

  // ---- chart
  const chartTitleId = uid("chart");
  const chartSummary = h("p", { class: "chart-summary" });
  const chart = h("div", { class: "chart", attrs: { role: "img" } });
  const chartCard = h(
    "section",
    { class: "card chart-card", attrs: { "aria-labelledby": chartTitleId } },
    h("div", { class: "card-head" }, h("h2", { id: chartTitleId, class: "card-title", text: "Activity per day" }), chartSummary),
    h("div", { class: "card-body" }, chart),
  );

  // ---- list
  const grid = new VirtualGrid<TimelineEvent>({
    label: "Activity, newest first",
    rowHeight: AUDIT_ROW_HEIGHT,
    columns: [
      { key: "time", label: "When", class: "col-when" },
      { key: "user", label: "Who", class: "col-user" },
      { key: "action", label: "What happened", class: "col-action" },
      { key: "file", label: "File or folder", class: "col-file" },
    ],
    renderCells: (e) => [
      h("div", { text: formatFileDate(rowNs(e), { now }), attrs: { title: formatFullDate(rowNs(e)) } }),
      h("div", { class: "cell-who", attrs: { title: e.device ? `${whoText(e)} (computer id ${e.device})` : whoText(e) } }, h("span", { class: "who-user", text: e.user }), h("span", { class: "who-host", text: e.host || e.device })),
      h(
        "div",
        { class: "cell-what" },
        h("span", { class: "what-title" }, h("span", { class: ["action-dot", e.warn ? "action-dot-warn" : `action-dot-${e.category}`], attrs: { "aria-hidden": "true" } }), h("span", { class: "action-label", text: e.title })),
        h("span", { class: "cell-detail", text: detailText(e) }),
      ),
      fileCell(e),
    ],
    rowClass: (e) => (e.warn ? "row-alert" : ""),
    onActivate: (e) => void showRecord(e),
  });
  grid.el.classList.add("grid-audit");
  const emptyBox = h("div", { class: "empty", attrs: { hidden: true } });
  const listWrap = h("div", { class: "list-wrap list-audit" }, grid.el, emptyBox);
  const summary = h("p", { class: "list-summary", attrs: { "aria-live": "polite" } });

  const el = h("div", { class: "page page-activity" }, header, chainBox, filterBar, filterError, chartCard, h("div", { class: "list-head" }, h("h2", { class: "section-title", text: "Events" }), h("div", { class: "list-meta" }, summary, internalWrap, clearBtn)), listWrap);

  function detailText(e: TimelineEvent): string {
    if (!e.program || e.detail.includes(PROGRAM_LABEL[e.program])) return e.detail;
    return `${e.detail} By ${PROGRAM_LABEL[e.program]}.`;
  }

  function fileCell(e: TimelineEvent): HTMLElement {
    if (e.files.length === 0) return h("div", { class: "cell-none", text: "—" });
    const text = e.files.length === 1 ? e.files[0]! : `${e.files[0]!} and ${plural(e.files.length - 1, "other", "others")}`;
    return h("div", null, icon("file", "icon icon-xs row-icon"), h("span", { class: "name", text, attrs: { title: e.files.slice(0, 20).join("\n") } }));
  }

  // ---- rendering

  function renderChain(v: AuditView): void {
    const c = v.chain;
    if (c.ok) {
      chainBox.className = "chain chain-ok";
      chainBox.setAttribute("role", "status");
      chainBox.replaceChildren(
        h("div", { class: "chain-icon" }, icon("shield-check", "icon icon-lg")),
        h(
          "div",
          { class: "chain-text" },
          h("p", { class: "chain-title", text: `Verified: all ${plural(v.total, "record", "records")} in the log are intact` }),
          h("p", { class: "chain-statement", text: c.statement }),
        ),
      );
      return;
    }
    chainBox.className = "chain chain-broken";
    chainBox.setAttribute("role", "alert");
    chainBox.replaceChildren(
      h("div", { class: "chain-icon" }, icon("warning", "icon icon-lg")),
      h(
        "div",
        { class: "chain-text" },
        h("p", { class: "chain-title", text: c.brokenAt != null ? `Broken at record ${c.brokenAt.toLocaleString("en-GB")}` : "The log is broken" }),
        h("p", { class: "chain-statement", text: c.statement }),
        h(
          "p",
          { class: "chain-todo" },
          h("strong", { text: "What to do: " }),
          h("span", {
            text: `Records up to ${c.verifiedUpTo.toLocaleString("en-GB")} are intact; later ones may have been changed or removed outside Coffer. Don't delete or edit anything in the vault folder. Export an access report now and contact IT — they can compare it with the copy your organisation keeps.`,
          }),
        ),
      ),
    );
  }

  function renderChoices(v: AuditView): void {
    const keep = (sel: HTMLSelectElement, all: string, opts: { value: string; label: string }[]) => {
      const cur = sel.value;
      sel.replaceChildren(h("option", { text: all, attrs: { value: "" } }), ...opts.map((o) => h("option", { text: o.label, attrs: { value: o.value } })));
      // A chosen value stays even if nothing matches it now.
      if (cur && !opts.some((o) => o.value === cur)) sel.appendChild(h("option", { text: cur, attrs: { value: cur } }));
      sel.value = cur;
    };
    keep(user.select, "Everyone", v.users.map((u) => ({ value: u, label: u })));
  }

  function renderChart(): void {
    const perDay = eventsPerDay(events);
    const bars = chartBars(perDay, { from: filters.from || undefined, to: filters.to || undefined });
    const sum = perDay.reduce((n, p) => n + p.count, 0);
    if (bars.length === 0) {
      chart.replaceChildren(h("p", { class: "muted chart-empty", text: "No activity in this period." }));
      chart.setAttribute("aria-label", "No activity in this period.");
      chartSummary.textContent = "";
      return;
    }
    const top = bars.reduce((a, b) => (b.count > a.count ? b : a), bars[0]!);
    const max = niceMax(top.count);
    const unit = bars[0]!.week ? "week" : "day";
    const every = Math.max(1, Math.ceil(bars.length / 8));
    const cols = bars.map((b, i) => {
      const col = h("div", { class: ["chart-col", b.count === 0 && "chart-col-zero"], attrs: { title: `${unit === "week" ? "Week of " : ""}${b.label}: ${plural(b.count, "event", "events")}` } });
      const bar = h("div", { class: "chart-bar" });
      bar.style.height = `${b.count === 0 ? 0 : Math.max(3, (b.count / max) * 100)}%`;
      col.appendChild(bar);
      const label = h("span", { class: "chart-label", text: i % every === 0 || i === bars.length - 1 ? b.label : "" });
      return { col, label };
    });
    chart.replaceChildren(
      h("div", { class: "chart-scale", attrs: { "aria-hidden": "true" } }, h("span", { text: max.toLocaleString("en-GB") }), h("span", { text: "0" })),
      h("div", { class: "chart-plot" }, h("div", { class: "chart-bars" }, cols.map((c) => c.col)), h("div", { class: "chart-axis", attrs: { "aria-hidden": "true" } }, cols.map((c) => c.label))),
    );
    const range = `${bars[0]!.label} to ${bars[bars.length - 1]!.label}`;
    chart.setAttribute("aria-label", `Bar chart of events per ${unit}, ${range}. ${plural(sum, "event", "events")} in all; the busiest ${unit} was ${top.label} with ${top.count.toLocaleString("en-GB")}.`);
    chartSummary.textContent = `Busiest ${unit}: ${dayLabel(top.day)} · ${plural(top.count, "event", "events")}`;
  }

  function renderList(v: AuditView, resetScroll: boolean): void {
    const keep = grid.activeItem()?.seq;
    const list = events.slice().reverse();
    grid.setItems(list, resetScroll || keep == null ? undefined : (e) => e.seq === keep, resetScroll);
    const empty = list.length === 0;
    grid.el.hidden = empty;
    emptyBox.hidden = !empty;
    if (empty) {
      const clear = h("button", { class: "btn btn-secondary", text: "Clear filters", attrs: { type: "button" } });
      clear.addEventListener("click", () => clearFilters());
      const parts: Node[] = [
        icon("search", "icon icon-xl empty-icon"),
        h("p", { class: "empty-title", text: hasFilters(filters) ? "No activity matches these filters" : "No activity yet" }),
        h("p", { class: "empty-text", text: hasFilters(filters) ? "Widen the period, or choose something else to show." : "Unlocking, opening and adding files are recorded here." }),
      ];
      if (hasFilters(filters)) parts.push(clear);
      emptyBox.replaceChildren(...parts);
    }
    // Events, not records: a folder protected and its files encrypted is
    // one event from several records, and status records are folded away.
    const hidden = allEvents.filter((e) => e.category === "internal").length;
    const shown = plural(list.length, "event", "events");
    const folded = !showInternal && hidden > 0 ? ` · ${plural(hidden, "status record", "status records")} hidden` : "";
    summary.textContent = v.truncated
      ? `${shown} shown · the list stops here; choose a shorter period to see the rest`
      : hasFilters(filters)
        ? `${shown} match${list.length === 1 ? "es" : ""}${folded}`
        : `${shown}${folded}`;
  }

  function render(v: AuditView, resetScroll: boolean): void {
    renderChain(v);
    renderChoices(v);
    allEvents = buildTimeline(v.rows);
    events = filterTimeline(allEvents, { category: filters.category, showInternal });
    renderChart();
    renderList(v, resetScroll);
    clearBtn.hidden = !hasFilters(filters);
  }

  // ---- data

  async function load(resetScroll = true): Promise<void> {
    const mine = ++seq;
    const perr = periodError(filters);
    filterError.hidden = !perr;
    filterError.textContent = perr ?? "";
    to.input.toggleAttribute("aria-invalid", !!perr);
    if (perr) return;
    if (resetScroll) summary.textContent = "Loading…";
    try {
      const v = await api.auditEvents(filtersToQuery(filters));
      if (destroyed || mine !== seq) return;
      data = v;
      render(v, resetScroll);
    } catch (e) {
      if (destroyed || mine !== seq) return;
      const err = toIpcError(e);
      if (err.code === "locked") return;
      const t = describeError(err);
      summary.textContent = "";
      grid.el.hidden = true;
      emptyBox.hidden = false;
      const retry = h("button", { class: "btn btn-secondary", text: "Try again", attrs: { type: "button" } });
      retry.addEventListener("click", () => void load());
      emptyBox.replaceChildren(icon("warning", "icon icon-xl empty-icon"), h("p", { class: "empty-title", text: t.title }), h("p", { class: "empty-text", text: t.detail }), errorDetails(t.technical) ?? "", retry);
    }
  }

  function readFilters(): void {
    const custom = period.select.value === "custom";
    const r = custom ? { from: from.input.value, to: to.input.value } : periodRange(period.select.value, new Date());
    filters = { from: r.from, to: r.to, action: "", category: action.select.value, user: user.select.value, file: file.input.value };
  }

  function clearFilters(): void {
    file.input.value = "";
    period.select.value = action.select.value = user.select.value = "";
    from.wrap.hidden = to.wrap.hidden = true;
    readFilters();
    void load();
    period.select.focus();
  }

  // ---- record details

  async function showRecord(e: TimelineEvent): Promise<void> {
    const session = e.rows.map((r) => r.facts?.session).find((x) => typeof x === "string") as string | undefined;
    const facts: [string, string][] = [
      ["When", formatFullDate(rowNs(e)) || e.time],
      ["User", e.user],
      ["Computer", e.host || "—"],
      ["Computer id", e.device || "—"],
      ["Program", e.program ? PROGRAM_LABEL[e.program].replace(/^the /, "") : "—"],
      ["What happened", e.detail || "—"],
    ];
    if (session) facts.push(["Session", session]);
    facts.push([e.seqs.length === 1 ? "Record number" : "Record numbers", e.seqs.map((n) => n.toLocaleString("en-GB")).join(", ")]);
    const fileList = e.files.length
      ? h("div", { class: "fact fact-files" }, h("dt", { text: e.files.length === 1 ? "File" : plural(e.files.length, "file", "files") }), h("dd", null, h("ul", { class: "record-files" }, e.files.slice(0, 200).map((f) => h("li", { text: f })))))
      : null;
    await showModal({
      title: e.title,
      content: [h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", { class: "fact" }, h("dt", { text: k }), h("dd", { text: v }))), fileList)],
      actions: [{ label: "Close", value: "ok", kind: "primary" }],
    });
    grid.focus();
  }

  // ---- reports

  async function exportAccess(): Promise<void> {
    const fmt = selectField("Format", REPORT_FORMATS.map((f) => ({ value: f.value, label: f.label })));
    const count = data ? data.rows.length : 0;
    const what = filters.from || filters.to || filters.user || filters.file.trim() ? `The ${plural(count, "record", "records")} in the chosen period, user and file` : `All ${plural(data?.total ?? count, "record", "records")} in the log`;
    let written: string | null = null;
    const r = await showModal({
      title: "Export an access report",
      content: [
        h("p", { text: "Who unlocked the vault and opened, added, saved or removed which file, and when — with the log's verification. For a patient's access request or an audit." }),
        h("p", { class: "preview-sentence", text: `${what}.` }),
        fmt.wrap,
      ],
      initialFocus: () => fmt.select,
      actions: [
        { label: "Cancel", value: "cancel", cancel: true, kind: "secondary" },
        { label: "Choose where to save…", value: "ok", kind: "primary" },
      ],
      onAction: async (_v, ui) => {
        const format = fmt.select.value as ReportFormat;
        const f = REPORT_FORMATS.find((x) => x.value === format)!;
        const dest = await pickSavePath("Save the access report", `coffer-access-report-${today()}.${format}`, { name: f.filter, extensions: [format] });
        if (!dest) return false;
        ui.setBusy(true, "Exporting…");
        written = await api.exportAccessReport(filtersToQuery(filters), format, dest);
      },
    });
    if (r === "ok" && written) toast("Access report saved", "success", `${written} — it names patients' files: keep it safe.`, 9000);
    exportBtn.focus();
  }

  async function incident(): Promise<void> {
    const when = textField({ label: "When was the computer lost or stolen?", type: "datetime-local", hint: "Your best estimate, in this computer's time. If unsure, choose the last time it was seen." });
    when.input.value = nowLocalInput();
    when.input.max = nowLocalInput();
    const fmt = selectField("Format", REPORT_FORMATS.filter((f) => f.value !== "csv").map((f) => ({ value: f.value, label: f.label })));
    let result: IncidentSummary | null = null;
    const r = await showModal({
      title: "Was the data on this computer safe?",
      content: [
        h("p", { text: "If a computer with Coffer was lost or stolen, Coffer can tell from its log whether the vault was locked — its files encrypted — at that moment, and save a report with the evidence." }),
        h(
          "p",
          { class: "muted" },
          h("strong", { text: "Why it matters: " }),
          h("span", { text: "under HIPAA's “safe harbor” rule, losing patient data that was properly encrypted is generally not a breach you must report. If the files could be read, the loss may have to be reported to patients and regulators." }),
        ),
        when.wrap,
        fmt.wrap,
      ],
      initialFocus: () => when.input,
      actions: [
        { label: "Cancel", value: "cancel", cancel: true, kind: "secondary" },
        { label: "Choose where to save…", value: "ok", kind: "primary" },
      ],
      onAction: async (_v, ui) => {
        when.setError(null);
        const ms = Date.parse(when.input.value);
        if (!when.input.value || !Number.isFinite(ms)) {
          when.setError("Enter the date and time.");
          when.input.focus();
          return false;
        }
        if (ms > Date.now() + 60_000) {
          when.setError("That's in the future. Enter when it was lost.");
          when.input.focus();
          return false;
        }
        const format = fmt.select.value as IncidentFormat;
        const f = REPORT_FORMATS.find((x) => x.value === format)!;
        const dest = await pickSavePath("Save the incident report", `coffer-incident-report-${today()}.${format}`, { name: f.filter, extensions: [format] });
        if (!dest) return false;
        ui.setBusy(true, "Checking the log…");
        result = await api.exportIncidentReport(new Date(ms).toISOString(), format, dest);
      },
    });
    if (r !== "ok" || !result) {
      incidentBtn.focus();
      return;
    }
    await showVerdict(result);
    incidentBtn.focus();
  }

  async function showVerdict(res: IncidentSummary): Promise<void> {
    const v = VERDICT[res.verdict] ?? VERDICT.cannot_be_established!;
    await showModal({
      title: "Incident report saved",
      wide: true,
      content: [
        h(
          "div",
          { class: ["verdict", `verdict-${v.tone}`] },
          icon(v.tone === "ok" ? "shield-check" : "warning", "icon icon-lg"),
          h("div", null, h("p", { class: "verdict-answer", text: v.answer }), h("p", { class: "verdict-text", text: res.verdictText })),
        ),
        h("h3", { class: "next-title", text: "Next steps" }),
        h("ol", { class: "next-steps" }, v.steps.map((t) => h("li", { text: t }))),
        h("p", { class: "muted dialog-path", text: `Saved as ${res.path}` }),
      ],
      actions: [
        { label: "Done", value: "done", kind: "secondary" },
        { label: "Open report", value: "open", kind: "primary" },
      ],
      // Opening keeps the dialog (and the next steps) up.
      onAction: async (value) => {
        if (value !== "open") return;
        await api.openReport(res.path);
        toast("The report is open in another window", "info", undefined, 4000);
        return false;
      },
    });
  }

  // ---- wiring

  for (const inp of [from.input, to.input]) inp.addEventListener("change", () => (readFilters(), void load()));
  period.select.addEventListener("change", () => {
    const custom = period.select.value === "custom";
    from.wrap.hidden = to.wrap.hidden = !custom;
    if (custom && !from.input.value) {
      const r = periodRange("custom", new Date());
      from.input.value = r.from;
      to.input.value = r.to;
    }
    readFilters();
    void load();
  });
  user.select.addEventListener("change", () => (readFilters(), void load()));
  // What to show is applied on screen: no reload needed.
  const refilter = () => {
    readFilters();
    if (!data) return;
    clearBtn.hidden = !hasFilters(filters);
    events = filterTimeline(allEvents, { category: filters.category, showInternal });
    renderChart();
    renderList(data, true);
  };
  action.select.addEventListener("change", refilter);
  internalBox.addEventListener("change", () => {
    showInternal = internalBox.checked;
    refilter();
  });
  file.input.addEventListener("input", () => {
    if (fileTimer) clearTimeout(fileTimer);
    fileTimer = setTimeout(() => {
      fileTimer = null;
      readFilters();
      void load();
    }, 250);
  });
  file.input.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && file.input.value) {
      e.preventDefault();
      file.input.value = "";
      readFilters();
      void load();
    }
  });
  filterBar.addEventListener("submit", (e) => {
    e.preventDefault();
    readFilters();
    void load();
  });
  clearBtn.addEventListener("click", () => clearFilters());
  exportBtn.addEventListener("click", () => void exportAccess().catch((e) => toastError("Couldn't export the report", e)));
  incidentBtn.addEventListener("click", () => void incident().catch((e) => toastError("Couldn't make the incident report", e)));
  clearBtn.hidden = true;
  grid.el.hidden = true;
  void load();

  return {
    el,
    title: "Activity",
    filesChanged: () => void load(false),
    destroy: () => {
      destroyed = true;
      if (fileTimer) clearTimeout(fileTimer);
      grid.destroy();
    },
  };
}
