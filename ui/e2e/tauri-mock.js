// @ts-nocheck
// An in-memory Coffer backend behind a fake `window.__TAURI_INTERNALS__`,
// injected with page.addInitScript before the app loads. It implements the
// commands and events of docs/IPC.md — and rejects anything else, so a UI
// call that drifts from the contract (a renamed argument, a wrong type, an
// unknown command) fails the browser tests.
//
// What @tauri-apps/api needs from the internals (read from
// node_modules/@tauri-apps/api/core.js, event.js, webview.js):
//   invoke(cmd, args, options)      every command, plugin:event|*, plugin:dialog|open
//   transformCallback(fn, once)     returns a numeric id; Channel and listen use it
//   unregisterCallback(id)          Channel cleanup
//   runCallback(id, data)           how the backend calls back (events, channel messages)
//   metadata.currentWebview/Window  getCurrentWebview() for drag-and-drop events
//   __TAURI_EVENT_PLUGIN_INTERNALS__.unregisterListener(event, id)
// Events reach a listener as runCallback(handler, {event, id, payload});
// channel messages as runCallback(channelId, {index, message}) and finally
// {index, end: true}.
//
// Tests configure it through window.__COFFER_MOCK_CONFIG__ (set by an
// earlier init script) and drive/inspect it through window.__mock.
(() => {
  const cfg = window.__COFFER_MOCK_CONFIG__ || {};
  const NS_PER_MS = 1e6;
  const now = () => Date.now();
  const nowNs = () => now() * NS_PER_MS;

  // ------------------------------------------------------------ state

  const DEFAULT_RECOVERY = "ABCDEFGH-IJKLMNOP-QRSTUVWX-YZ234567-ABCDEFGH-IJKLMNOP-QRSTUVWX";

  function generateFiles(spec) {
    if (Array.isArray(spec)) return spec.map((f, i) => ({ id: f.id || hexId(i + 1), versions: 1, addedNs: f.mtimeNs, ...f }));
    const out = [];
    const n = spec.count;
    const base = spec.baseNs || nowNs() - 3600e9;
    for (let i = 1; i <= n; i++) {
      const name = `${spec.prefix || "scan-"}${String(i).padStart(6, "0")}.pdf`;
      out.push({
        id: hexId(i),
        path: `${spec.folder || "Scans"}/${name}`,
        size: 40_000 + ((i * 7919) % 900_000),
        mtimeNs: base - (n - i) * 60e9,
        addedNs: base - (n - i) * 60e9,
        versions: 1,
      });
    }
    return out;
  }

  function hexId(i) {
    return i.toString(16).padStart(32, "0");
  }

  function S_FILES_FOR_AUDIT() {
    const fs = generateFiles(Array.isArray(cfg.files) ? cfg.files : []);
    if (fs.length > 0) return fs.map((f) => ({ id: f.id, name: f.path.split("/").pop() }));
    return AUDIT_FILES.map((name, i) => ({ id: hexId(900 + i), name }));
  }

  // ------------------------------------------------------------ audit log

  const ACTION_LABELS = {
    vault_created: "Vault created",
    unlock: "Unlocked",
    unlock_failed: "Unlock failed",
    lock: "Locked",
    recovery: "Recovery unlock",
    file_added: "File added",
    file_opened: "File opened",
    file_extracted: "File extracted",
    file_removed: "File removed",
    protect: "Folder protected",
    unprotect: "Folder unprotected",
    plaintext_found: "Plaintext found",
    rotation_started: "Key rotation started",
    rotation_finished: "Key rotation finished",
    slot_added: "Key slot added",
    slot_removed: "Key slot removed",
    integrity_failure: "Integrity failure",
    audit_export: "Audit exported",
  };
  const AUDIT_FILES = [
    "2025-03-14 Referral — J. Okafor.pdf",
    "2025-03-13 Lab results — M. Haddad.pdf",
    "2025-03-12 Consent form — A. Silva.pdf",
    "2025-03-10 Insurance card — P. Novak.jpg",
    "2025-02-28 Discharge summary — L. Brennan.pdf",
    "Appointments March.csv",
    "Billing Q1.xlsx",
    "Patient list.xlsx",
    "Letter to Dr. Fischer.docx",
    "Follow-up — S. Ahmed.docx",
  ];

  function localDay(ms) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }

  /**
   * A few hundred records over the last two weeks, working hours on
   * weekdays, three people at the front desk: deterministic (seeded).
   */
  // The record's own fields, as the backend passes them for the screen to word.
  function factsFor(action, detail) {
    if (action === "unlock" || action === "unlock_failed") return { method: /login/.test(detail) ? "keychain" : "passphrase" };
    if (action === "lock") return { reason: /inactivity/.test(detail) ? "auto" : /sleep/.test(detail) ? "suspend" : "manual" };
    if (action === "file_added") return { by: /protected/.test(detail) ? "watcher" : "app" };
    if (action === "plaintext_found") return { count: 1 };
    if (action === "slot_added") return { kind: "keychain" };
    if (action === "audit_export") return { format: "csv", records: 120 };
    return {};
  }

  const DEVICE_ID = "7f3a9c01e2d4b5a6";

  function generateAudit(a) {
    if (Array.isArray(a.records)) return a.records.map((r, i) => ({ seq: i + 1, host: "reception-pc", device: DEVICE_ID, facts: {}, detail: "", fileId: null, fileName: null, ...r }));
    const count = a.count ?? 320;
    const days = a.days ?? 14;
    const users = a.users ?? ["sam", "priya", "dr.okafor"];
    let x = a.seed ?? 7;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
    const weighted = [
      ["file_opened", 40],
      ["file_added", 18],
      ["unlock", 12],
      ["lock", 12],
      ["file_extracted", 6],
      ["unlock_failed", 4],
      ["file_removed", 3],
      ["protect", 1],
      ["plaintext_found", 2],
      ["slot_added", 1],
      ["audit_export", 1],
    ];
    const wsum = weighted.reduce((n, [, w]) => n + w, 0);
    const pickAction = () => {
      let r = rnd() * wsum;
      for (const [act, w] of weighted) if ((r -= w) < 0) return act;
      return "file_opened";
    };
    const end = now() - 5 * 60_000;
    const slots = [];
    for (let d = days - 1; d >= 0; d--) {
      const base = new Date(end - d * 86_400_000);
      const dow = base.getDay();
      if (dow === 0 || dow === 6) continue;
      const start = new Date(base.getFullYear(), base.getMonth(), base.getDate(), 8, 0).getTime();
      const stop = Math.min(new Date(base.getFullYear(), base.getMonth(), base.getDate(), 18, 0).getTime(), end);
      if (stop > start) slots.push([start, stop, 0.6 + rnd()]);
    }
    const weightSum = slots.reduce((n, s) => n + s[2], 0) || 1;
    const times = [];
    for (const [start, stop, w] of slots) {
      const n = Math.round((count * w) / weightSum);
      for (let i = 0; i < n; i++) times.push(Math.floor(start + rnd() * (stop - start)));
    }
    while (times.length > count) times.pop();
    while (times.length < count && slots.length > 0) {
      const [start, stop] = slots[Math.floor(rnd() * slots.length)];
      times.push(Math.floor(start + rnd() * (stop - start)));
    }
    times.sort((p, q) => p - q);
    const files = S_FILES_FOR_AUDIT();
    return times.map((t, i) => {
      const action = i === 0 ? "vault_created" : pickAction();
      const isFile = action.startsWith("file_");
      const f = isFile ? pick(files) : null;
      const detail =
        action === "unlock"
          ? pick(["with passphrase", "with passphrase", "with computer login"])
          : action === "lock"
            ? pick(["locked by the user", "auto-lock after inactivity", "the computer went to sleep"])
            : action === "unlock_failed"
              ? "wrong passphrase"
              : action === "file_extracted"
                ? "copy saved outside the vault"
                : action === "file_added"
                  ? pick(["added by hand", "from the protected folder Scans"])
                  : action === "plaintext_found"
                    ? "1 file waiting in Scans"
                    : action === "slot_added"
                      ? "computer login"
                      : action === "audit_export"
                        ? "access report, CSV"
                        : "";
      return {
        seq: i + 1,
        time: new Date(t).toISOString(),
        user: users[Math.floor(rnd() * users.length)],
        host: "reception-pc",
        device: DEVICE_ID,
        action,
        label: ACTION_LABELS[action],
        fileId: f ? f.id : null,
        fileName: f ? f.name : null,
        detail,
        facts: factsFor(action, detail),
      };
    });
  }

  const S = {
    vaultExists: cfg.vaultExists ?? true,
    unlocked: cfg.unlocked ?? false,
    passphrase: cfg.passphrase ?? "correct horse battery staple",
    recoveryKey: cfg.recoveryKey ?? DEFAULT_RECOVERY,
    keychainEnrolled: cfg.keychainEnrolled ?? false,
    keychainAllowed: cfg.keychainAllowed ?? true,
    keychainWorks: cfg.keychainWorks ?? true,
    vaultDir: cfg.vaultDir ?? "/home/sam/.local/share/coffer/vault",
    files: generateFiles(cfg.files ?? []),
    folders: (cfg.folders ?? []).map((f) => ({ mandatory: false, ...f })),
    // Folders on the (fake) disk: what preview_protect counts and protect_folder encrypts.
    disk: cfg.disk ?? {},
    warnings: cfg.warnings ?? [],
    // No vault, no watcher: the real app starts it when the vault is created.
    watcher: { running: cfg.vaultExists ?? true, folders: (cfg.folders ?? []).length, lastEventNs: null, pending: 0, ...(cfg.watcher ?? {}) },
    autoLockMinutes: cfg.autoLockMinutes ?? 10,
    managed: { autoLockMax: null, keychainForbidden: false, byPolicy: null, ...(cfg.managed ?? {}) },
    about: {
      version: "0.1.0",
      formatVersion: 1,
      cipher: "AES-256-GCM, 64 KiB chunks, a random key per file",
      kdf: "Argon2id, 256 MiB, 3 passes, 4 lanes",
      keyVersion: 1,
      ...(cfg.about ?? {}),
    },
    latencyMs: cfg.latencyMs ?? 20,
    unlockMs: cfg.unlockMs ?? 150,
    progressStepMs: cfg.progressStepMs ?? 60,
    failNext: {},
    openedReports: [],
  };
  let nextId = S.files.length + 1000;

  // Keys: the vault key, its unlock slots, and an interruptible rotation.
  const DAY_NS = 86_400e9;
  const keyCfg = cfg.key ?? {};
  S.key = {
    version: keyCfg.version ?? S.about.keyVersion,
    createdNs: nowNs() - (keyCfg.ageDays ?? 64) * DAY_NS,
    periodDays: keyCfg.periodDays === undefined ? 90 : keyCfg.periodDays,
    pending: keyCfg.pending ?? null, // { depth, startedNs, targetVersion }
    pendingStep: keyCfg.pendingStep ?? 0, // batches done of a pending rotation
    recovery: keyCfg.recovery ?? true,
    recoveryRequired: keyCfg.recoveryRequired ?? false,
    escrow: keyCfg.escrow ?? false,
    escrowRequired: keyCfg.escrowRequired ?? false,
    files: keyCfg.files ?? null,
    bytes: keyCfg.bytes ?? null,
  };
  S.about.keyVersion = S.key.version;
  S.rotationSteps = cfg.rotationSteps ?? 10;
  S.rotationStepMs = cfg.rotationStepMs ?? 120;
  S.rotating = false;
  S.cancelRequested = false;
  S.exports = [];
  // A vault that doesn't exist yet has an empty log; create_vault starts it.
  S.audit = S.vaultExists ? generateAudit(cfg.audit ?? {}) : [];
  S.auditBrokenAt = (cfg.audit ?? {}).brokenAt ?? null;
  S.posture = cfg.posture ?? {};

  const calls = [];
  const dialogQueue = [...(cfg.dialogs ?? [])];
  const dialogCalls = [];

  // ------------------------------------------------------------ callbacks, events

  const callbacks = new Map();
  let cbSeq = 1;
  function transformCallback(fn, once = false) {
    const id = cbSeq++;
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      return fn && fn(data);
    });
    return id;
  }
  function unregisterCallback(id) {
    callbacks.delete(id);
  }
  function runCallback(id, data) {
    const cb = callbacks.get(id);
    if (cb) cb(data);
  }

  const listeners = new Map(); // eventId -> {event, handler}
  let eventSeq = 1;
  function emit(event, payload) {
    for (const [id, l] of listeners) {
      if (l.event === event) runCallback(l.handler, { event, id, payload });
    }
  }

  // ------------------------------------------------------------ contract

  const T = {
    string: (v) => typeof v === "string",
    boolean: (v) => typeof v === "boolean",
    number: (v) => typeof v === "number" && Number.isFinite(v),
    strings: (v) => Array.isArray(v) && v.every((x) => typeof x === "string"),
    depth: (v) => v === "rewrap" || v === "rekey" || v === "reencrypt",
    slotKind: (v) => v === "keychain" || v === "recovery" || v === "escrow",
    reportFormat: (v) => ["csv", "json", "html", "pdf"].includes(v),
    incidentFormat: (v) => ["json", "html", "pdf"].includes(v),
    // AuditQuery: only these keys, each an RFC 3339 time or a string.
    query: (v) =>
      v != null &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      Object.entries(v).every(([k, x]) =>
        k === "from" || k === "to" ? typeof x === "string" && /^\d{4}-\d{2}-\d{2}T/.test(x) && !Number.isNaN(Date.parse(x)) : ["action", "user", "file"].includes(k) && typeof x === "string" && x.length > 0,
      ),
    channel: (v) => v != null && typeof v === "object" && typeof v.id === "number" && typeof v.toJSON === "function" && /^__CHANNEL__:\d+$/.test(v.toJSON()),
  };

  // docs/IPC.md, table "Commands": argument names (camelCase) and types.
  const CONTRACT = {
    app_state: {},
    create_vault: { passphrase: "string", withKeychain: "boolean" },
    unlock: { passphrase: "string" },
    unlock_with_keychain: {},
    recover: { recoveryKey: "string", newPassphrase: "string" },
    lock: {},
    touch_activity: {},
    list_files: {},
    add_paths: { paths: "strings", onProgress: "channel" },
    open_file: { id: "string" },
    extract_file: { id: "string", destDir: "string" },
    remove_file: { path: "string" },
    protected_folders: {},
    preview_protect: { path: "string" },
    protect_folder: { path: "string", onProgress: "channel" },
    unprotect_folder: { path: "string" },
    get_settings: {},
    set_auto_lock: { minutes: "number" },
    set_keychain_unlock: { enabled: "boolean", passphrase: "string" },
    regenerate_recovery_key: { passphrase: "string" },
    key_info: {},
    change_passphrase: { passphrase: "string", newPassphrase: "string" },
    enrol_escrow: { passphrase: "string", publicKeyPath: "string" },
    remove_slot: { kind: "slotKind", passphrase: "string" },
    rotate_keys: { passphrase: "string", depth: "depth", newPassphrase: "string?", keepPassphrase: "boolean?", onProgress: "channel" },
    resume_rotation: { onProgress: "channel" },
    cancel_rotation: {},
    audit_events: { query: "query" },
    open_report: { path: "string" },
    export_access_report: { query: "query", format: "reportFormat", dest: "string" },
    export_incident_report: { lostAt: "string", format: "incidentFormat", dest: "string" },
    posture: {},
  };

  function checkArgs(cmd, args) {
    const spec = CONTRACT[cmd];
    const a = args || {};
    for (const [k, spec_t] of Object.entries(spec)) {
      // "type?": optional (an Option on the Rust side); when sent, of that type.
      const optional = spec_t.endsWith("?");
      const t = optional ? spec_t.slice(0, -1) : spec_t;
      if (!(k in a)) {
        if (optional) continue;
        return `invalid args \`${k}\` for command \`${cmd}\`: command ${cmd} missing required key ${k}`;
      }
      if (!T[t](a[k])) return `invalid args \`${k}\` for command \`${cmd}\`: expected ${t}`;
    }
    for (const k of Object.keys(a)) {
      if (!(k in spec)) return `unexpected argument \`${k}\` for command \`${cmd}\` (not in docs/IPC.md)`;
    }
    return null;
  }

  const err = (code, message, details) => (details ? { code, message, details } : { code, message });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function requireUnlocked() {
    if (!S.unlocked) throw err("locked", "The vault is locked.");
  }
  function requireVault() {
    if (!S.vaultExists) throw err("not_found", "No vault here yet.");
  }
  function normKey(k) {
    return k.replace(/[\s-]/g, "").toUpperCase().replace(/0/g, "O").replace(/1/g, "I").replace(/8/g, "B");
  }

  function folderViews() {
    return S.folders.map((f) => {
      const mine = S.unlocked ? S.files.filter((x) => x.path.startsWith(f.name + "/")) : [];
      let last = f.lastActivityNs ?? null;
      for (const x of mine) if (last == null || x.addedNs > last) last = x.addedNs;
      return { path: f.path, name: f.name, files: mine.length, lastActivityNs: last, mandatory: !!f.mandatory };
    });
  }

  function settings() {
    const eff = S.managed.autoLockMax != null ? Math.min(S.autoLockMinutes, S.managed.autoLockMax) : S.autoLockMinutes;
    return { autoLockMinutes: eff, keychainUnlock: S.keychainEnrolled, managed: { ...S.managed } };
  }

  function appState() {
    return {
      vaultExists: S.vaultExists,
      unlocked: S.unlocked,
      vaultDir: S.vaultDir,
      keychainEnrolled: S.keychainEnrolled,
      keychainAllowed: S.keychainAllowed && !S.managed.keychainForbidden,
      watcher: { ...S.watcher, folders: S.folders.length },
      warnings: S.warnings.map((w) => ({ ...w })),
      autoLockMinutes: settings().autoLockMinutes,
      autoLockSeconds: cfg.autoLockSeconds ?? settings().autoLockMinutes * 60,
      about: { ...S.about, keyVersion: S.vaultExists ? S.about.keyVersion : 0 },
    };
  }

  function baseName(p) {
    const parts = p.replace(/[\\/]+$/, "").split(/[\\/]/);
    return parts[parts.length - 1];
  }

  /** Sources for a path on the fake disk: a folder expands to its files. */
  function collect(p) {
    const d = S.disk[p];
    const name = baseName(p);
    if (d && d.files != null) {
      const out = [];
      const names = d.names || Array.from({ length: d.files }, (_, i) => `file-${String(i + 1).padStart(4, "0")}.pdf`);
      const each = d.files > 0 ? Math.floor(d.bytes / d.files) : 0;
      for (const n of names) out.push({ source: `${p}/${n}`, path: `${name}/${n}`, size: each });
      return out;
    }
    return [{ source: p, path: name, size: (d && d.size) || 120_000 }];
  }

  async function addSources(sources, ch, removePlaintext) {
    const total = sources.length;
    let bytes = 0;
    const steps = Math.min(total, 8);
    let index = 0;
    const send = (message) => runCallback(ch.id, { index: index++, message });
    send({ files: 0, totalFiles: total, bytes: 0 });
    const failed = [];
    let added = 0;
    for (let s = 1; s <= steps; s++) {
      const upto = Math.round((total * s) / steps);
      while (added + failed.length < upto) {
        const src = sources[added + failed.length];
        if (S.failPaths && S.failPaths.includes(src.source)) {
          failed.push({ path: src.source, message: "Permission denied. Check that you own the file or folder." });
          continue;
        }
        const t = nowNs();
        const prev = S.files.filter((f) => f.path === src.path);
        S.files = S.files.filter((f) => f.path !== src.path);
        S.files.push({ id: hexId(nextId++), path: src.path, size: src.size, mtimeNs: t, addedNs: t, versions: prev.length ? prev[0].versions + 1 : 1 });
        bytes += src.size;
        added++;
      }
      await sleep(S.progressStepMs);
      send({ files: added + failed.length, totalFiles: total, bytes });
    }
    runCallback(ch.id, { index: index++, end: true });
    if (removePlaintext) void 0;
    emit("files-changed", null);
    return { added, failed, skipped: 0 };
  }

  // ------------------------------------------------------------ keys, audit, posture

  function keyInfo() {
    const files = S.key.files ?? S.files.length;
    const bytes = S.key.bytes ?? S.files.reduce((n, f) => n + f.size, 0);
    const slots = [{ kind: "passphrase", requiredByPolicy: false, removable: false }];
    if (S.keychainEnrolled) slots.push({ kind: "keychain", requiredByPolicy: false, removable: true });
    if (S.key.recovery) slots.push({ kind: "recovery", requiredByPolicy: S.key.recoveryRequired, removable: !S.key.recoveryRequired });
    if (S.key.escrow) slots.push({ kind: "escrow", requiredByPolicy: S.key.escrowRequired, removable: !S.key.escrowRequired });
    return {
      keyVersion: S.key.version,
      keyCreatedNs: S.key.createdNs,
      keyAgeDays: Math.floor((nowNs() - S.key.createdNs) / DAY_NS),
      rotationPeriodDays: S.key.periodDays,
      rotationDueNs: S.key.periodDays == null ? null : S.key.createdNs + S.key.periodDays * DAY_NS,
      pending: S.key.pending ? { ...S.key.pending } : null,
      slots,
      files,
      bytes,
    };
  }

  function checkPass(passphrase) {
    if (passphrase !== S.passphrase) throw err("wrong_credential", "Wrong passphrase or key.");
  }

  function logAudit(action, extra = {}) {
    const last = S.audit[S.audit.length - 1];
    S.audit.push({
      seq: (last ? last.seq : 0) + 1,
      time: new Date().toISOString(),
      user: "sam",
      host: "reception-pc",
      device: DEVICE_ID,
      action,
      label: ACTION_LABELS[action] || action,
      fileId: null,
      fileName: null,
      detail: "",
      facts: {},
      ...extra,
    });
  }

  const REENCRYPT_BPS = 150 * 1024 * 1024;
  const REWRAP_FPS = 2000;

  /** Runs (or continues) the pending rotation in batches, reporting over the channel. */
  async function runRotation(ch, resumedCall, news) {
    const p = S.key.pending;
    const info = keyInfo();
    const totalFiles = info.files;
    const totalBytes = p.depth === "reencrypt" ? info.bytes : 0;
    const steps = S.rotationSteps;
    const resumed = resumedCall || S.key.pendingStep > 0;
    let step = S.key.pendingStep;
    const first = step;
    let index = 0;
    const send = (message) => runCallback(ch.id, { index: index++, message });
    // Times as the real thing would report them (simulated throughput).
    const simMs = (k) => (p.depth === "reencrypt" ? ((totalBytes * k) / steps / REENCRYPT_BPS) * 1000 : ((totalFiles * k) / steps / REWRAP_FPS) * 1000);
    const progress = () => ({
      files: Math.round((totalFiles * step) / steps),
      totalFiles,
      bytes: Math.round((totalBytes * step) / steps),
      totalBytes,
      elapsedMs: Math.round(simMs(step - first)),
      etaMs: step > first ? Math.round(simMs(steps - step)) : null,
    });
    S.rotating = true;
    S.cancelRequested = false;
    try {
      // The new credentials, the moment they are in force (counts still 0).
      for (const n of news ?? []) send({ files: 0, totalFiles: 0, bytes: 0, totalBytes: 0, elapsedMs: 0, etaMs: null, ...n });
      send(progress());
      while (step < steps) {
        await sleep(S.rotationStepMs);
        if (!S.unlocked) {
          S.key.pendingStep = step;
          throw err("locked", "The vault is locked.");
        }
        if (S.cancelRequested) {
          S.key.pendingStep = step;
          throw err("cancelled", "Stopped; the key update continues next time.");
        }
        step++;
        send(progress());
      }
    } finally {
      S.rotating = false;
      S.cancelRequested = false;
      runCallback(ch.id, { index: index++, end: true });
    }
    const old = S.key.version;
    S.key.version = p.targetVersion;
    S.about.keyVersion = S.key.version;
    S.key.createdNs = nowNs();
    S.key.pending = null;
    S.key.pendingStep = 0;
    S.warnings = S.warnings.filter((w) => w.code !== "rotation_due");
    logAudit("rotation_finished", { detail: `${p.depth === "reencrypt" ? "re-encryption" : p.depth}, key version ${S.key.version}`, facts: { kind: p.depth, key_version: S.key.version, files: S.files.length, destroyed_versions: [] } });
    return { depth: p.depth, resumed, keyVersion: S.key.version, destroyedVersions: [old], files: totalFiles, bytes: totalBytes };
  }

  function auditMatches(r, q) {
    const t = Date.parse(r.time);
    if (q.from && t < Date.parse(q.from)) return false;
    if (q.to && t >= Date.parse(q.to)) return false;
    if (q.action && r.action !== q.action) return false;
    if (q.user && r.user !== q.user) return false;
    if (q.file && !(r.fileName || "").toLowerCase().includes(q.file.toLowerCase())) return false;
    return true;
  }

  function chain() {
    const total = S.audit.length;
    if (S.auditBrokenAt != null) {
      return {
        ok: false,
        verifiedUpTo: S.auditBrokenAt - 1,
        brokenAt: S.auditBrokenAt,
        statement: `Record ${S.auditBrokenAt} doesn't match the record before it: the log was changed after it was written.`,
      };
    }
    const fmt = (r) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" }).format(Date.parse(r.time));
    return {
      ok: true,
      verifiedUpTo: total,
      brokenAt: null,
      statement: total ? `Every record is in order and unchanged, from the first on ${fmt(S.audit[0])} to the latest on ${fmt(S.audit[total - 1])}.` : "The log is empty.",
    };
  }

  function auditView(q) {
    const all = S.audit.filter((r) => auditMatches(r, q));
    const MAX = 5000;
    const rows = all.length > MAX ? all.slice(all.length - MAX) : all;
    const perDay = new Map();
    for (const r of all) {
      const d = localDay(Date.parse(r.time));
      perDay.set(d, (perDay.get(d) || 0) + 1);
    }
    const actions = [...new Set(S.audit.map((r) => r.action))].map((a) => ({ action: a, label: ACTION_LABELS[a] || a })).sort((a, b) => a.label.localeCompare(b.label));
    return {
      rows: rows.map((r) => ({ ...r })),
      truncated: all.length > MAX,
      total: S.audit.length,
      chain: chain(),
      perDay: [...perDay.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([day, count]) => ({ day, count })),
      actions,
      users: [...new Set(S.audit.map((r) => r.user))].sort(),
    };
  }

  const VERDICT_TEXT = {
    holds: (last) => `Safe harbor holds, on the evidence shipped up to ${last}: the vault was locked and its files encrypted when the laptop was lost.`,
    does_not_hold: () => "Safe harbor does NOT hold: the records show the data was readable when the laptop was lost.",
    cannot_be_established: () => "Safe harbor cannot be established from this evidence.",
  };

  // ------------------------------------------------------------ commands

  const handlers = {
    app_state: () => appState(),
    async create_vault({ passphrase, withKeychain }) {
      if (S.vaultExists) throw err("invalid", "A vault already exists here.");
      await sleep(S.unlockMs);
      S.vaultExists = true;
      S.unlocked = true;
      S.watcher.running = true;
      logAudit("vault_created");
      S.passphrase = passphrase;
      // As the app does: a keychain that fails costs the keychain slot,
      // never the vault or the recovery key shown once.
      if (withKeychain && !S.keychainWorks) {
        S.keychainEnrolled = false;
        return { recoveryKey: S.recoveryKey, keychainError: "The OS keychain is not available." };
      }
      S.keychainEnrolled = withKeychain;
      return { recoveryKey: S.recoveryKey };
    },
    async unlock({ passphrase }) {
      requireVault();
      await sleep(S.unlockMs);
      if (passphrase !== S.passphrase) throw err("wrong_credential", "Wrong passphrase or key.");
      S.unlocked = true;
      logAudit("unlock", { detail: "with passphrase", facts: { method: "passphrase" } });
      emit("files-changed", null);
      // An interrupted rotation is announced right after unlock.
      if (S.key.pending) setTimeout(() => emit("rotation-pending", null), 30);
      return null;
    },
    async unlock_with_keychain() {
      requireVault();
      await sleep(S.unlockMs);
      if (!S.keychainEnrolled) throw err("not_found", "This computer's keychain holds no secret for this vault. Unlock with your passphrase.");
      if (!S.keychainWorks) throw err("keychain_unavailable", "No keychain. Unlock with your passphrase.");
      S.unlocked = true;
      emit("files-changed", null);
      return null;
    },
    async recover({ recoveryKey, newPassphrase }) {
      requireVault();
      await sleep(S.unlockMs);
      const k = normKey(recoveryKey);
      if (k.length !== 56 || /[^A-Z2-7]/.test(k)) throw err("invalid", "that recovery key has a typo: check each group of 8 characters");
      if (k !== normKey(S.recoveryKey)) throw err("wrong_credential", "Wrong passphrase or key.");
      S.passphrase = newPassphrase;
      S.unlocked = true;
      return null;
    },
    lock() {
      const was = S.unlocked;
      S.unlocked = false;
      if (was) emit("vault-locked", { reason: "manual" });
      return null;
    },
    touch_activity: () => null,
    list_files() {
      requireUnlocked();
      return S.files.map((f) => ({ ...f }));
    },
    async add_paths({ paths, onProgress }) {
      requireVault();
      const sources = paths.flatMap(collect);
      return addSources(sources, onProgress, false);
    },
    open_file({ id }) {
      requireUnlocked();
      if (!S.files.some((f) => f.id === id)) throw err("not_found", "That file is no longer in the vault.");
      return null;
    },
    extract_file({ id, destDir }) {
      requireUnlocked();
      const f = S.files.find((x) => x.id === id);
      if (!f) throw err("not_found", "That file is no longer in the vault.");
      return `${destDir.replace(/\/+$/, "")}/${baseName(f.path)}`;
    },
    remove_file({ path }) {
      requireUnlocked();
      const f = S.files.find((x) => x.path === path);
      if (!f) throw err("not_found", "No such file in the vault.");
      S.files = S.files.filter((x) => x.path !== path);
      emit("files-changed", null);
      return f.versions;
    },
    protected_folders() {
      requireVault();
      return folderViews();
    },
    preview_protect({ path }) {
      const d = S.disk[path];
      if (!d) throw err("not_found", "No such folder.");
      return { files: d.files, bytes: d.bytes };
    },
    async protect_folder({ path, onProgress }) {
      requireVault();
      if (S.folders.some((f) => f.path === path)) throw err("invalid", "That folder is already protected.");
      const name = baseName(path);
      S.folders.push({ path, name, mandatory: false, lastActivityNs: nowNs() });
      const r = await addSources(collect(path), onProgress, true);
      if (S.disk[path]) S.disk[path] = { ...S.disk[path], files: 0, bytes: 0, names: [] };
      return r;
    },
    unprotect_folder({ path }) {
      const f = S.folders.find((x) => x.path === path);
      if (!f) throw err("not_found", "That folder is not protected.");
      if (f.mandatory) throw err("policy", "Your organisation's policy requires this folder to be protected.");
      S.folders = S.folders.filter((x) => x.path !== path);
      return null;
    },
    get_settings: () => settings(),
    set_auto_lock({ minutes }) {
      if (minutes < 1) throw err("invalid", "Choose at least one minute.");
      if (S.managed.autoLockMax != null && minutes > S.managed.autoLockMax)
        throw err("policy", `Your organisation's policy locks the vault after at most ${S.managed.autoLockMax} minutes.`);
      S.autoLockMinutes = minutes;
      return settings();
    },
    async set_keychain_unlock({ enabled, passphrase }) {
      await sleep(S.unlockMs);
      if (passphrase !== S.passphrase) throw err("wrong_credential", "Wrong passphrase or key.");
      if (enabled && S.managed.keychainForbidden) throw err("policy", "Your organisation's policy does not allow keychain unlock.");
      if (enabled && !S.keychainWorks) throw err("keychain_unavailable", "No keychain.");
      S.keychainEnrolled = enabled;
      return settings();
    },
    async regenerate_recovery_key({ passphrase }) {
      await sleep(S.unlockMs);
      if (passphrase !== S.passphrase) throw err("wrong_credential", "Wrong passphrase or key.");
      S.recoveryKey = "MNOPQRST-UVWXYZ23-4567ABCD-EFGHIJKL-MNOPQRST-UVWXYZ23-4567ABCD";
      S.key.recovery = true;
      return { recoveryKey: S.recoveryKey };
    },
    key_info() {
      requireUnlocked();
      return keyInfo();
    },
    async change_passphrase({ passphrase, newPassphrase }) {
      requireUnlocked();
      await sleep(S.unlockMs);
      checkPass(passphrase);
      if (newPassphrase.length < 10) throw err("invalid", "The new passphrase is too short.");
      S.passphrase = newPassphrase;
      logAudit("slot_added", { detail: "passphrase changed", facts: { kind: "passphrase" } });
      return null;
    },
    async enrol_escrow({ passphrase, publicKeyPath }) {
      requireUnlocked();
      await sleep(S.unlockMs);
      checkPass(passphrase);
      if (!/escrow|\.pub$/i.test(publicKeyPath)) throw err("invalid", "That file isn't an escrow public key from `coffer escrow keygen`.");
      S.key.escrow = true;
      logAudit("slot_added", { detail: "organisation escrow", facts: { kind: "escrow" } });
      return keyInfo();
    },
    async remove_slot({ kind, passphrase }) {
      requireUnlocked();
      await sleep(S.unlockMs);
      checkPass(passphrase);
      if (kind === "keychain") {
        if (!S.keychainEnrolled) throw err("not_found", "Computer login unlock isn't set up.");
        S.keychainEnrolled = false;
      } else if (kind === "recovery") {
        if (!S.key.recovery) throw err("not_found", "There is no recovery key.");
        if (S.key.recoveryRequired) throw err("policy", "Your organisation's policy requires a recovery key.");
        S.key.recovery = false;
      } else {
        if (!S.key.escrow) throw err("not_found", "Organisation escrow isn't set up.");
        if (S.key.escrowRequired) throw err("policy", "Your organisation's policy requires organisation escrow.");
        S.key.escrow = false;
      }
      logAudit("slot_removed", { detail: kind, facts: { kind } });
      return keyInfo();
    },
    async rotate_keys({ passphrase, depth, newPassphrase, keepPassphrase, onProgress }) {
      requireUnlocked();
      await sleep(S.unlockMs);
      checkPass(passphrase);
      if (S.rotating) throw err("in_use", "A key update is already running.");
      // A pending rotation continues whatever depth was asked for.
      const news = [];
      if (!S.key.pending) {
        if (depth !== "rewrap") {
          // Replaces every credential: a new passphrase unless kept, never the one in use.
          const keep = keepPassphrase === true;
          if (!keep && !newPassphrase) throw err("invalid", "Choose a new passphrase, or say that the one you use now was not exposed.");
          if (!keep && newPassphrase === S.passphrase) {
            throw err("invalid", "the new passphrase is the one in use now, which may be known to someone else: choose a different one (or say that it was not exposed)");
          }
          if (!keep) S.passphrase = newPassphrase;
          S.recoveryKey = "QRSTUVWX-YZ234567-ABCDEFGH-IJKLMNOP-QRSTUVWX-YZ234567-ABCDEFGH";
          S.key.recovery = true;
          news.push({ recoveryKey: S.recoveryKey });
          if (S.keychainEnrolled && cfg.keychainFailsOnRotation) {
            S.keychainEnrolled = false;
            news.push({ keychainError: "The OS keychain is not available." });
          }
        }
        S.key.pending = { depth, startedNs: nowNs(), targetVersion: S.key.version + 1 };
        S.key.pendingStep = 0;
        logAudit("rotation_started", { detail: depth === "reencrypt" ? "re-encryption" : depth });
      }
      return runRotation(onProgress, false, news);
    },
    async resume_rotation({ onProgress }) {
      requireUnlocked();
      if (S.rotating) throw err("in_use", "A key update is already running.");
      if (!S.key.pending) throw err("not_found", "No key update is waiting.");
      return runRotation(onProgress, true);
    },
    cancel_rotation() {
      requireUnlocked();
      if (S.rotating) S.cancelRequested = true;
      return null;
    },
    audit_events({ query }) {
      requireUnlocked();
      return auditView(query);
    },
    export_access_report({ query, format, dest }) {
      requireUnlocked();
      const n = S.audit.filter((r) => auditMatches(r, query)).length;
      S.exports.push({ kind: "access", query, format, dest, records: n });
      logAudit("audit_export", { detail: `access report, ${format.toUpperCase()}`, facts: { format, records: n } });
      return dest;
    },
    async export_incident_report({ lostAt, format, dest }) {
      requireVault();
      const t = Date.parse(lostAt);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(lostAt) || Number.isNaN(t)) throw err("invalid", "The time of the loss isn't a date and time.");
      await sleep(S.unlockMs);
      let verdict = (cfg.incident ?? {}).verdict;
      if (!verdict) {
        if (S.auditBrokenAt != null) verdict = "cannot_be_established";
        else {
          const before = S.audit.filter((r) => (r.action === "unlock" || r.action === "lock") && Date.parse(r.time) <= t);
          const last = before[before.length - 1];
          verdict = last && last.action === "unlock" ? "does_not_hold" : "holds";
        }
      }
      const lastRec = S.audit[S.audit.length - 1];
      const lastAt = lastRec ? new Intl.DateTimeFormat("en-GB", { dateStyle: "long", timeStyle: "short" }).format(Date.parse(lastRec.time)) : "nothing";
      S.exports.push({ kind: "incident", lostAt, format, dest });
      return { verdict, verdictText: VERDICT_TEXT[verdict](lastAt), path: dest };
    },
    open_report({ path }) {
      if (!S.exports.some((x) => x.dest === path)) throw err("invalid", "Coffer opens only reports it saved itself. Open this file from your file manager.");
      S.openedReports.push(path);
      return null;
    },
    posture() {
      const p = S.posture;
      const total = S.audit.length;
      return {
        diskEncryption: p.diskEncryption ?? "on",
        diskEncryptionRequired: p.diskEncryptionRequired ?? true,
        policy: { source: "/etc/coffer/policy.toml", compliant: true, problems: [], ...(p.policy ?? {}) },
        sinks: (p.sinks ?? [{ name: "syslog — siem.clinic.example:6514", pending: 3, reachable: true }]).map((x) => {
          const pending = Math.min(x.pending ?? 0, total);
          return { reachable: null, ...x, pending, lastShippedSeq: total - pending > 0 ? total - pending : null };
        }),
        auditRecords: total,
      };
    },
  };

  async function invoke(cmd, args = {}, _options) {
    // Plugins first: events and the dialog.
    if (cmd === "plugin:event|listen") {
      const id = eventSeq++;
      listeners.set(id, { event: args.event, handler: args.handler });
      return id;
    }
    if (cmd === "plugin:event|unlisten") {
      listeners.delete(args.eventId);
      return null;
    }
    if (cmd === "plugin:event|emit") {
      emit(args.event, args.payload);
      return null;
    }
    if (cmd === "plugin:dialog|open" || cmd === "plugin:dialog|save") {
      dialogCalls.push(cmd === "plugin:dialog|save" ? { save: true, ...args.options } : args.options);
      await sleep(5);
      return dialogQueue.length ? dialogQueue.shift() : null;
    }

    calls.push({ cmd, args: sanitize(args), at: now() });
    if (!(cmd in CONTRACT)) throw `Command ${cmd} not found`;
    const bad = checkArgs(cmd, args);
    if (bad) {
      window.__mock.contractErrors.push(bad);
      throw bad;
    }
    if (S.failNext[cmd]) {
      const e = S.failNext[cmd];
      delete S.failNext[cmd];
      await sleep(S.latencyMs);
      throw e;
    }
    await sleep(S.latencyMs);
    return handlers[cmd](args);
  }

  function sanitize(args) {
    const o = {};
    for (const [k, v] of Object.entries(args || {})) o[k] = v && typeof v === "object" && typeof v.toJSON === "function" ? v.toJSON() : v;
    return o;
  }

  // ------------------------------------------------------------ install

  window.__TAURI_INTERNALS__ = {
    invoke,
    transformCallback,
    unregisterCallback,
    runCallback,
    callbacks,
    convertFileSrc: (p, protocol = "asset") => `${protocol}://localhost/${encodeURIComponent(p)}`,
    metadata: {
      currentWindow: { label: "main" },
      currentWebview: { windowLabel: "main", label: "main" },
    },
    plugins: { path: { sep: "/", delimiter: ":" } },
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = {
    unregisterListener: (_event, id) => listeners.delete(id),
  };

  window.__mock = {
    state: S,
    calls,
    dialogCalls,
    contractErrors: [],
    emit,
    listenerCount: (event) => [...listeners.values()].filter((l) => l.event === event).length,
    queueDialog: (...values) => dialogQueue.push(...values),
    failNext: (cmd, code, message, details) => (S.failNext[cmd] = err(code, message, details)),
    breakChain: (at) => (S.auditBrokenAt = at),
    autoLock(reason = "auto") {
      S.unlocked = false;
      emit("vault-locked", { reason });
    },
    watcherEncrypted(count, folder = "Scans") {
      const t = nowNs();
      for (let i = 0; i < count; i++) {
        S.files.push({ id: hexId(nextId++), path: `${folder}/new-scan-${nextId}.pdf`, size: 52_000, mtimeNs: t, addedNs: t, versions: 1 });
      }
      S.watcher.lastEventNs = t;
      for (let i = 0; i < count; i++) emit("watcher-event", { kind: "encrypted", count: 1 });
      emit("files-changed", null);
    },
    dragDrop(paths) {
      const position = { x: 400, y: 300 };
      emit("tauri://drag-enter", { paths, position });
      emit("tauri://drag-over", { position });
      emit("tauri://drag-drop", { paths, position });
    },
  };

  // Tauri's `freezePrototype: true` (tauri.conf.json): the app must run with
  // a frozen Object.prototype.
  if (cfg.freezePrototype !== false) Object.freeze(Object.prototype);
})();
