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
  type AuditRow,
  type AuditView,
  type IncidentFormat,
  type IncidentSummary,
  type ReportFormat,
} from "../ipc";
import { chartBars, dayLabel, filtersToQuery, hasFilters, niceMax, NO_FILTERS, periodError, type AuditFilters } from "../audit-model";

export const AUDIT_ROW_HEIGHT = 48;

const REPORT_FORMATS: { value: ReportFormat; label: string; filter: string }[] = [
  { value: "pdf", label: "PDF — to print or send", filter: "PDF document" },
  { value: "html", label: "Web page (HTML)", filter: "Web page" },
  { value: "csv", label: "Spreadsheet (CSV)", filter: "CSV spreadsheet" },
  { value: "json", label: "Data (JSON)", filter: "JSON data" },
];

/** Actions that mean something went wrong, shown in the warning colour. */
const ALERT_ACTIONS = new Set(["unlock_failed", "integrity_failure", "objects_quarantined", "plaintext_found", "log_repaired"]);

function rowNs(r: AuditRow): number {
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
  let rows: AuditRow[] = [];
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
  const from = mkInput("From", "date", "input-date");
  const to = mkInput("To", "date", "input-date");
  const action = selectField("Action", [{ value: "", label: "All actions" }], "select-filter");
  const user = selectField("User", [{ value: "", label: "Everyone" }], "select-filter");
  const file = mkInput("File name", "search", "input-file", "Any file");
  const clearBtn = h("button", { class: "btn btn-ghost btn-sm filters-clear", text: "Clear filters", attrs: { type: "button" } });
  const filterError = h("p", { class: "field-error filters-error", attrs: { hidden: true, role: "alert" } });
  const filterBar = h(
    "form",
    { class: "filters", attrs: { role: "search", "aria-label": "Filter activity", novalidate: true } },
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
  const grid = new VirtualGrid<AuditRow>({
    label: "Activity records, newest first",
    rowHeight: AUDIT_ROW_HEIGHT,
    columns: [
      { key: "time", label: "When", class: "col-when" },
      { key: "user", label: "User", class: "col-user" },
      { key: "action", label: "Action", class: "col-action" },
      { key: "file", label: "File", class: "col-file" },
      { key: "detail", label: "Details", class: "col-detail" },
    ],
    renderCells: (r) => [
      h("div", { text: formatFileDate(rowNs(r), { now }), attrs: { title: formatFullDate(rowNs(r)) } }),
      h("div", { text: r.user, attrs: { title: r.device ? `${r.user} on ${r.device}` : r.user } }),
      h("div", null, h("span", { class: ["action-dot", ALERT_ACTIONS.has(r.action) ? "action-dot-warn" : `action-dot-${r.action.split("_")[0]}`], attrs: { "aria-hidden": "true" } }), h("span", { class: "action-label", text: r.label })),
      r.fileName
        ? h("div", null, icon("file", "icon icon-xs row-icon"), h("span", { class: "name", text: r.fileName, attrs: { title: r.fileName } }))
        : h("div", { class: "cell-none", text: "—" }),
      h("div", { class: "cell-detail", text: r.detail, attrs: { title: r.detail || null } }),
    ],
    rowClass: (r) => (ALERT_ACTIONS.has(r.action) ? "row-alert" : ""),
    onActivate: (r) => void showRecord(r),
  });
  grid.el.classList.add("grid-audit");
  const emptyBox = h("div", { class: "empty", attrs: { hidden: true } });
  const listWrap = h("div", { class: "list-wrap list-audit" }, grid.el, emptyBox);
  const summary = h("p", { class: "list-summary", attrs: { "aria-live": "polite" } });

  const el = h("div", { class: "page page-activity" }, header, chainBox, filterBar, filterError, chartCard, h("div", { class: "list-head" }, h("h2", { class: "section-title", text: "Records" }), h("div", { class: "list-meta" }, summary, clearBtn)), listWrap);

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
          h("p", { class: "chain-title", text: `Verified: all ${plural(v.total, "record", "records")} intact` }),
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
    keep(action.select, "All actions", v.actions.map((a) => ({ value: a.action, label: a.label })));
    keep(user.select, "Everyone", v.users.map((u) => ({ value: u, label: u })));
  }

  function renderChart(v: AuditView): void {
    const bars = chartBars(v.perDay, { from: filters.from || undefined, to: filters.to || undefined });
    const sum = v.perDay.reduce((n, p) => n + p.count, 0);
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
      const col = h("div", { class: ["chart-col", b.count === 0 && "chart-col-zero"], attrs: { title: `${unit === "week" ? "Week of " : ""}${b.label}: ${plural(b.count, "record", "records")}` } });
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
    chart.setAttribute("aria-label", `Bar chart of records per ${unit}, ${range}. ${plural(sum, "record", "records")} in all; the busiest ${unit} was ${top.label} with ${top.count.toLocaleString("en-GB")}.`);
    chartSummary.textContent = `Busiest ${unit}: ${dayLabel(top.day)} · ${plural(top.count, "entry", "entries")}`;
  }

  function renderList(v: AuditView, resetScroll: boolean): void {
    const keep = grid.activeItem()?.seq;
    rows = v.rows.slice().reverse();
    grid.setItems(rows, resetScroll || keep == null ? undefined : (r) => r.seq === keep, resetScroll);
    const empty = rows.length === 0;
    grid.el.hidden = empty;
    emptyBox.hidden = !empty;
    if (empty) {
      const clear = h("button", { class: "btn btn-secondary", text: "Clear filters", attrs: { type: "button" } });
      clear.addEventListener("click", () => clearFilters());
      const parts: Node[] = [
        icon("search", "icon icon-xl empty-icon"),
        h("p", { class: "empty-title", text: hasFilters(filters) ? "No activity matches these filters" : "No activity yet" }),
        h("p", { class: "empty-text", text: hasFilters(filters) ? "Widen the period, or choose another action or user." : "Unlocking, opening and adding files are recorded here." }),
      ];
      if (hasFilters(filters)) parts.push(clear);
      emptyBox.replaceChildren(...parts);
    }
    // A record naming many files (a folder added at once) is one entry per
    // file here, so entries and records are counted apart.
    const shown = plural(rows.length, "entry", "entries");
    const inLog = `${plural(v.total, "record", "records")} in the log`;
    summary.textContent = v.truncated
      ? `${shown} shown · the list stops here; narrow the period to see the rest`
      : hasFilters(filters)
        ? `${shown} match · ${inLog}`
        : rows.length === v.total
          ? inLog
          : `${shown} from ${inLog}`;
  }

  function render(v: AuditView, resetScroll: boolean): void {
    renderChain(v);
    renderChoices(v);
    renderChart(v);
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
    filters = { from: from.input.value, to: to.input.value, action: action.select.value, user: user.select.value, file: file.input.value };
  }

  function clearFilters(): void {
    from.input.value = to.input.value = file.input.value = "";
    action.select.value = user.select.value = "";
    readFilters();
    void load();
    from.input.focus();
  }

  // ---- record details

  async function showRecord(r: AuditRow): Promise<void> {
    const facts: [string, string][] = [
      ["When", formatFullDate(rowNs(r)) || r.time],
      ["User", r.user],
      ["Computer", r.device || "—"],
      ["Action", r.label],
      ["File", r.fileName ?? "—"],
      ["Details", r.detail || "—"],
      ["Record number", r.seq.toLocaleString("en-GB")],
    ];
    await showModal({
      title: `${r.label}`,
      content: [h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", { class: "fact" }, h("dt", { text: k }), h("dd", { text: v }))))],
      actions: [{ label: "Close", value: "ok", kind: "primary" }],
    });
    grid.focus();
  }

  // ---- reports

  async function exportAccess(): Promise<void> {
    const fmt = selectField("Format", REPORT_FORMATS.map((f) => ({ value: f.value, label: f.label })));
    const count = data ? rows.length : 0;
    const what = hasFilters(filters) ? `The ${plural(count, "record", "records")} that match the current filters` : `All ${plural(count, "record", "records")} in the log`;
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
      title: "Incident report",
      content: [
        h("p", { text: "If a computer with Coffer was lost or stolen, this report shows from the log whether the vault was locked and its files encrypted at that moment — what's needed to decide whether the loss must be reported as a breach." }),
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
    const res: IncidentSummary = result;
    const tone = res.verdict === "holds" ? "ok" : res.verdict === "does_not_hold" ? "bad" : "unknown";
    await showModal({
      title: "Incident report saved",
      wide: true,
      content: [
        h(
          "div",
          { class: ["verdict", `verdict-${tone}`] },
          icon(tone === "ok" ? "shield-check" : "warning", "icon icon-lg"),
          h("p", { class: "verdict-text", text: res.verdictText }),
        ),
        h("p", { text: "The report lists the evidence behind this. Give it to whoever decides whether the loss must be reported." }),
        h("p", { class: "muted dialog-path", text: res.path }),
      ],
      actions: [{ label: "Done", value: "ok", kind: "primary" }],
    });
    incidentBtn.focus();
  }

  // ---- wiring

  for (const inp of [from.input, to.input]) inp.addEventListener("change", () => (readFilters(), void load()));
  for (const sel of [action.select, user.select]) sel.addEventListener("change", () => (readFilters(), void load()));
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
