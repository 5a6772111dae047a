// The console's pages. Each renders into <main> and reads only the platform's JSON APIs.
import { knownAction, perform } from "./actions.js";
import { api, cityNow, isLocal, photoUrl, qs, ref, session, signIn } from "./api.js";
import { t } from "./i18n.js";
import { caseMap, districtMap } from "./map.js";
import { byTimeLeft, cityDate, fmtTime, h, leftCell, light, openDialog, pct, timeLeft, toast } from "./ui.js";

const STATES = ["filed", "dispatched", "acknowledged", "handled", "verified", "returned", "suspended", "closed", "withdrawn"];
const OPEN_STATES = STATES.filter((s) => s !== "closed" && s !== "withdrawn");

const section = (title, ...body) => h("section", { class: "panel" }, h("h2", {}, title), ...body);
const deptName = (r, code) => (code ? (r.deptByCode[code]?.name || code) : "—");
const catName = (r, c) => (c ? `${r.catById[c.code]?.name || c.name || c.code}` : "—");
const failed = (e) => toast(t("error", e.message), "bad");

export function loadingInto(main) { main.replaceChildren(h("p", { class: "muted" }, t("loading"))); }

const external = (p) => h("a", { href: p.uri, target: "_blank", rel: "noopener noreferrer" }, `${t("external_photo")} ↗`);

function thumbs(photos) {
  return h("div", { class: "photos small" }, photos.map((p) => {
    if (!isLocal(p.uri)) return external(p);
    const img = h("img", { alt: `${t("case_photos")} ${p.uri.split("/").pop()}`, loading: "lazy" });
    photoUrl(p.uri).then((u) => { img.src = u; }).catch(() => { img.alt += " ✕"; });
    return img;
  }));
}

// -- sign-in ---------------------------------------------------------------------------------------------
export function signInView(main, done) {
  const err = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "signin panel", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, t("signin_title")),
    h("p", { class: "help" }, t("signin_help")),
    h("div", { class: "field" }, h("label", { for: "username" }, t("username")),
      h("input", { id: "username", name: "username", autocomplete: "username", required: true })),
    h("div", { class: "field" }, h("label", { for: "password" }, t("password")),
      h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    err,
    h("button", { type: "submit", class: "primary" }, t("signin")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    try {
      await signIn(form.elements.username.value.trim(), form.elements.password.value);
      done();
    } catch (e) {
      err.textContent = t("signin_failed", e.message);
    }
  });
  main.replaceChildren(form);
  form.elements.username.focus();
}

// -- case tables -----------------------------------------------------------------------------------------
function caseTable(r, cases, { actions = false, onChanged } = {}) {
  if (!cases.length) return h("p", { class: "muted" }, t("none"));
  return h("table", { class: "cases" },
    h("thead", {}, h("tr", {}, ...["col_case", "col_state", "col_light", "col_left", "col_category", "col_department", "col_address",
      ...(actions ? ["col_actions"] : [])].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, cases.map((c) => h("tr", { "data-case": c.case_no },
      h("td", {}, h("a", { href: `#/case/${c.id}` }, c.case_no)),
      h("td", {}, h("span", { class: `state state-${c.state}` }, t(`st_${c.state}`))),
      h("td", {}, light(c.traffic_light)),
      h("td", {}, leftCell(c)),
      h("td", {}, catName(r, c.category)),
      h("td", {}, deptName(r, c.department_code)),
      h("td", {}, c.address || "—"),
      actions ? h("td", { class: "actions" }, c.allowed_actions.filter(knownAction).map((a) =>
        h("button", { type: "button", "data-action": a, onclick: async () => {
          try {
            const after = await perform(a, c);
            if (after) { toast(t("done", `${t(`a_${a}`)} · ${c.case_no}`)); onChanged?.(); }
          } catch (e) { failed(e); }
        } }, t(`a_${a}`)))) : null))));
}

async function fetchCases(params, pages = 2) {
  const out = [];
  let offset = 0;
  for (let i = 0; i < pages; i += 1) {
    const page = await api(`/v1/cases${qs({ ...params, limit: 200, offset })}`);
    out.push(...page.items);
    if (page.next_offset === null) break;
    offset = page.next_offset;
  }
  return out;
}

function caseFilters(r, state, onChange) {
  const select = (name, label, options) => {
    const id = `filter-${name}`;
    return h("div", { class: "field inline" }, h("label", { for: id }, label),
      h("select", { id, name, onchange: (ev) => { state[name] = ev.target.value; onChange(); } },
        h("option", { value: "" }, t("all")),
        options.map(([v, l]) => h("option", { value: v, selected: state[name] === v }, l))));
  };
  return h("form", { class: "filters", onsubmit: (ev) => ev.preventDefault() },
    select("state", t("filter_state"), STATES.map((s) => [s, t(`st_${s}`)])),
    select("department", t("filter_department"), r.departments.map((d) => [d.code, d.name])),
    select("street", t("filter_street"), Object.entries(r.streets)),
    select("light", t("filter_light"), ["red", "yellow", "green"].map((l) => [l, t(`light_${l}`)])));
}

async function casesPanel(r, filters = {}) {
  const state = { ...filters };
  const list = h("div", {}, h("p", { class: "muted" }, t("loading")));
  const count = h("p", { class: "help" });
  async function load() {
    try {
      let cases = await fetchCases({ state: state.state || OPEN_STATES, department_code: state.department, street_code: state.street });
      if (state.light) cases = cases.filter((c) => c.traffic_light === state.light);
      cases.sort(byTimeLeft);
      count.textContent = `${t("sorted_by_left")} · ${t("shown", cases.length)}`;
      list.replaceChildren(caseTable(r, cases, { actions: true, onChanged: load }));
    } catch (e) { list.replaceChildren(h("p", { class: "error" }, t("error", e.message))); }
  }
  await load();
  return section(t("cases_title"), caseFilters(r, state, load), count, list);
}

// -- dispatcher ------------------------------------------------------------------------------------------
export async function dispatchView(main) {
  const r = await ref();
  const queue = h("div", {});
  const waiting = h("p", { class: "help" });
  const me = session.get();
  async function load() {
    const page = await api("/v1/dispatch/queue?status=open");
    waiting.textContent = t("queue_waiting", page.waiting);
    if (!page.items.length) { queue.replaceChildren(h("p", { class: "muted" }, t("none"))); return; }
    queue.replaceChildren(h("table", { class: "queue" },
      h("thead", {}, h("tr", {}, ...["col_report", "col_received", "col_content", "col_candidates", "col_reason", "col_status", "col_actions"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, page.items.map((item) => {
        const mine = item.claimed_by === me.user;
        return h("tr", { "data-report": item.report_id },
          h("td", {}, item.report_id, h("br"), h("small", { class: "muted" }, r.streets[item.grid?.street_code] || "")),
          h("td", {}, fmtTime(item.queued_at)),
          h("td", { class: "content" }, h("span", { class: "channel" }, t(`ch_${item.report.channel}`)), " ", item.report.text || "",
            item.report.place?.address ? h("div", { class: "muted" }, item.report.place.address) : null,
            (item.report.photos || []).length ? thumbs(item.report.photos) : null),
          h("td", {}, item.candidates.length ? h("ul", { class: "plain" }, item.candidates.map((c) => h("li", {}, `${c.name || r.catById[c.code]?.name || c.code} (${c.code})`))) : "—"),
          h("td", {}, item.reason),
          h("td", {}, item.status === "claimed" ? t("claimed_by", item.claimed_by) : t(`q_${item.status}`)),
          h("td", { class: "actions" },
            !mine ? h("button", { type: "button", "data-action": "claim", onclick: () => claim(item) }, t("claim")) : null,
            mine ? h("button", { type: "button", class: "primary", "data-action": "dispatch", onclick: () => dispatch(item) }, t("dispatch")) : null));
      }))));
  }
  async function claim(item) {
    try { await api(`/v1/dispatch/queue/${item.report_id}/claim`, { method: "POST" }); await load(); } catch (e) { failed(e); }
    main.querySelector(`tr[data-report="${item.report_id}"] button[data-action="dispatch"]`)?.focus();
  }
  async function dispatch(item) {
    const candidates = item.candidates.map((c) => c.code);
    const categories = [...candidates.map((id) => r.catById[id]).filter(Boolean),
      ...r.categories.filter((c) => !candidates.includes(c.id))];
    try {
      const pending = openDialog({
        title: t("dispatch_title", item.report_id),
        fields: [
          { name: "category", label: t("category"), type: "select", required: true,
            options: categories.map((c) => [c.id, `${c.name} (${c.id} · ${c.major_name})`]) },
          { name: "department", label: t("department"), type: "select", required: true,
            options: r.departments.map((d) => [d.code, `${d.name} (${d.code})`]) },
          { name: "priority", label: t("priority"), type: "select", options: ["normal", "high", "urgent"].map((p) => [p, t(`pr_${p}`)]) },
          { name: "reason", label: t("reason"), type: "textarea", required: true, minlength: 2, value: t("dispatch_reason_default") },
        ],
        confirmText: t("confirm_action", t("dispatch"), item.report_id),
        submit: (v) => api(`/v1/dispatch/queue/${item.report_id}/dispatch`, { method: "POST", json: v }),
      });
      suggestDepartment(r, item.grid?.street_code);
      const done = await pending;
      if (done) { toast(t("queued_dispatched", item.report_id)); await load(); }
    } catch (e) { failed(e); }
  }
  await load();
  main.replaceChildren(
    h("h1", {}, t("nav_dispatch")),
    section(t("queue_title"), h("p", { class: "help" }, t("queue_help")), waiting, queue),
    await casesPanel(r));
}

// The department whose kind the category names (its street's office for street matters); the dispatcher may change it.
function suggestDepartment(r, streetCode) {
  const form = document.getElementById("dialog-form");
  const category = form.elements.category, department = form.elements.department;
  const suggest = () => {
    const kind = r.catById[category.value]?.department_kind;
    const match = r.departments.find((d) => d.kind === kind && (kind !== "street_office" || d.street_code === streetCode));
    if (match) department.value = match.code;
  };
  category.addEventListener("change", suggest);
  suggest();
}

export async function casesView(main, params) {
  const r = await ref();
  main.replaceChildren(h("h1", {}, t("nav_cases")), await casesPanel(r, params));
}

// -- department inbox --------------------------------------------------------------------------------------
export async function inboxView(main) {
  const r = await ref();
  const me = session.get();
  const list = h("div", {});
  async function load() {
    const cases = (await fetchCases({ current: true, state: OPEN_STATES })).sort(byTimeLeft);
    list.replaceChildren(caseTable(r, cases, { actions: true, onChanged: load }));
  }
  await load();
  main.replaceChildren(h("h1", {}, `${t("inbox_title")} · ${deptName(r, me.unit)}`),
    section(t("inbox_title"), h("p", { class: "help" }, t("inbox_help")), list));
}

// -- case page ---------------------------------------------------------------------------------------------
export async function caseView(main, id, rerender) {
  const r = await ref();
  const [c, audit] = await Promise.all([api(`/v1/cases/${encodeURIComponent(id)}`), api(`/v1/cases/${encodeURIComponent(id)}/audit`)]);
  const reports = await Promise.all(c.report_ids.map((rid) => api(`/v1/reports/${rid}`).catch(() => ({ report_id: rid }))));
  const photoBox = h("div", { class: "photos" });
  const allPhotos = [...(c.photos || [])];
  for (const a of audit) for (const p of a.payload?.photos || []) if (!allPhotos.some((x) => x.uri === p.uri)) allPhotos.push(p);
  for (const p of allPhotos) {
    if (!isLocal(p.uri)) { photoBox.append(external(p)); continue; }
    const img = h("img", { alt: `${t("case_photos")} ${p.uri.split("/").pop()}`, loading: "lazy" });
    photoUrl(p.uri).then((u) => { img.src = u; }).catch(() => { img.alt += " ✕"; });
    photoBox.append(h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); if (img.src) window.open(img.src); } }, img));
  }
  const actions = c.allowed_actions.filter(knownAction);
  const mapBox = h("div", { class: "map small", id: "case-map", role: "img", "aria-label": `${t("case_map")}: ${c.address || ""}` });
  main.replaceChildren(h("div", { class: "case-page" },
    h("p", {}, h("a", { href: "#/", onclick: (ev) => { ev.preventDefault(); history.back(); } }, `← ${t("back")}`)),
    h("h1", {}, t("case_title", c.case_no), " ", h("span", { class: `state state-${c.state}` }, t(`st_${c.state}`)), " ", light(c.traffic_light)),
    h("div", { class: "grid2" },
      section(t("case_description"),
        h("dl", { class: "facts" },
          h("dt", {}, t("col_category")), h("dd", {}, `${catName(r, c.category)} (${c.category?.code || ""})`),
          h("dt", {}, t("col_priority")), h("dd", {}, t(`pr_${c.priority}`)),
          h("dt", {}, t("col_department")), h("dd", {}, deptName(r, c.department_code)),
          h("dt", {}, t("col_street")), h("dd", {}, `${r.streets[c.grid?.street_code] || "—"} · ${r.communities[c.grid?.community_code] || ""} · ${c.grid?.cell_code || ""}`),
          h("dt", {}, t("col_address")), h("dd", {}, c.address || "—"),
          h("dt", {}, t("col_received")), h("dd", {}, fmtTime(c.received_at)),
          h("dt", {}, t("case_reports")), h("dd", {}, h("ul", { class: "plain" }, reports.map((rep) => h("li", {},
            rep.report_id, rep.channel ? ` · ${t(`ch_${rep.channel}`)} · ${fmtTime(rep.received_at)}` : "",
            rep.merged_into ? ` · ${t("merged_into", rep.merged_into)}` : "")))),
          c.result ? [h("dt", {}, t("case_result")), h("dd", {}, c.result)] : null,
          c.extension_request ? [h("dt", {}, t("case_extension")), h("dd", {}, `${c.extension_request.days ?? ""} · ${c.extension_request.reason ?? ""}`)] : null),
        h("p", { class: "description" }, c.description)),
      section(t("case_actions"),
        actions.length ? h("div", { class: "action-buttons" }, actions.map((a) => h("button", {
          type: "button", "data-action": a, class: "action", title: t(`h_${a}`),
          onclick: async () => {
            try {
              const after = await perform(a, c);
              if (after) { toast(t("done", `${t(`a_${a}`)} · ${c.case_no}`)); rerender(); }
            } catch (e) { failed(e); }
          } }, t(`a_${a}`), h("small", {}, t(`h_${a}`))))) : h("p", { class: "muted" }, t("case_no_actions")))),
    h("div", { class: "grid2" },
      section(t("case_deadlines"), c.deadlines.length ? h("table", {},
        h("thead", {}, h("tr", {}, ...["dl_kind", "dl_light", "dl_start", "dl_due", "dl_status"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, c.deadlines.map((d) => h("tr", {},
          h("td", {}, t(`dl_${d.kind}`), d.department_code ? h("small", {}, ` ${deptName(r, d.department_code)}`) : null),
          h("td", {}, d.status === "active" ? light(d.traffic_light) : "—"),
          h("td", {}, fmtTime(d.start_at)),
          h("td", {}, fmtTime(d.due_at), d.elapsed !== null ? h("small", {}, ` · ${t("used", Math.round(d.elapsed * 100))}`) : null),
          h("td", {}, t(`dl_${d.status}`), d.on_time === true ? ` · ${t("on_time")}` : d.on_time === false ? ` · ${t("late")}` : ""))))) : h("p", { class: "muted" }, t("none"))),
      section(t("case_map"), mapBox)),
    c.whistles.length ? section(t("case_whistles"), whistleList(r, c)) : null,
    allPhotos.length ? section(t("case_photos"), photoBox) : null,
    section(t("case_audit"), h("ol", { class: "timeline" }, audit.map((a) => h("li", {},
      h("time", { datetime: a.at }, fmtTime(a.at)), " ",
      h("strong", {}, t(`a_${a.action}`)), " ",
      a.to_state && a.to_state !== a.from_state ? h("span", { class: "muted" }, `${a.from_state ? t(`st_${a.from_state}`) : ""} → ${t(`st_${a.to_state}`)} `) : null,
      h("span", { class: "muted" }, `${a.actor?.id || ""} (${a.actor?.role || ""})`),
      a.reason ? h("div", { class: "reason" }, a.reason) : null,
      a.payload?.result ? h("div", { class: "reason" }, a.payload.result) : null))))));
  caseMap(mapBox, c);
}

function whistleList(r, c) {
  return h("ul", { class: "plain whistles" }, c.whistles.map((w) => h("li", {},
    h("strong", {}, t("blown", w.blown_by, fmtTime(w.blown_at))), w.reason ? ` — ${w.reason}` : "",
    h("ul", { class: "plain" }, w.checkins.map((ck) => h("li", { class: ck.checked_in_at ? (ck.on_time ? "ok" : "late") : (new Date(ck.due_at) < new Date() ? "late" : "") },
      `${deptName(r, ck.department_code)}: `, ck.checked_in_at ? t("checked_in", fmtTime(ck.checked_in_at)) : t("not_checked_in", fmtTime(ck.due_at))))))));
}

// -- supervision and street ---------------------------------------------------------------------------------
export async function superviseView(main) {
  const r = await ref();
  const cases = (await fetchCases({ state: OPEN_STATES }, 3)).filter((c) => c.traffic_light === "red" || (timeLeft(c)?.share ?? 1) < 0);
  cases.sort(byTimeLeft);
  const top = cases.slice(0, 60);
  const escalations = await Promise.all(top.map((c) => api(`/v1/cases/${c.id}/audit`).then((a) => a.filter((x) => x.action === "escalate").length).catch(() => 0)));
  const rows = top.map((c, i) => ({ c, n: escalations[i] }));
  main.replaceChildren(h("h1", {}, t("supervise_title")), section(t("overdue_only"), h("p", { class: "help" }, t("supervise_help")),
    rows.length ? h("table", { class: "cases" },
      h("thead", {}, h("tr", {}, ...["col_case", "col_state", "col_light", "col_left", "col_department", "col_street", "a_escalate"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows.map(({ c, n }) => h("tr", {},
        h("td", {}, h("a", { href: `#/case/${c.id}` }, c.case_no)),
        h("td", {}, t(`st_${c.state}`)), h("td", {}, light(c.traffic_light)), h("td", {}, leftCell(c)),
        h("td", {}, deptName(r, c.department_code)), h("td", {}, r.streets[c.grid?.street_code] || "—"),
        h("td", {}, n ? t("escalated", n) : "—"))))) : h("p", { class: "muted" }, t("none"))));
}

export async function streetView(main) {
  const r = await ref();
  const me = session.get();
  const cases = (await fetchCases({ state: STATES, street_code: me.role === "street" ? me.unit : undefined }, 3))
    .filter((c) => c.whistles.length);
  main.replaceChildren(h("h1", {}, `${t("street_title")}${me.unit ? ` · ${r.streets[me.unit] || me.unit}` : ""}`),
    section(t("street_title"), h("p", { class: "help" }, t("street_help")),
      cases.length ? h("ul", { class: "plain" }, cases.map((c) => h("li", { class: "panel inner" },
        h("a", { href: `#/case/${c.id}` }, c.case_no), ` · ${t(`st_${c.state}`)} · ${catName(r, c.category)} · ${c.address || ""}`,
        whistleList(r, c)))) : h("p", { class: "muted" }, t("none"))),
    await casesPanel(r, me.role === "street" ? { street: me.unit } : {}));
}

// -- map ---------------------------------------------------------------------------------------------------
export async function mapView(main) {
  const r = await ref();
  const box = h("div", { class: "map big", id: "district-map", role: "application", "aria-label": t("map_title") });
  const side = h("div", { class: "side", "aria-live": "polite" });
  main.replaceChildren(h("h1", {}, t("map_title")), h("p", { class: "help" }, t("map_help")),
    h("div", { class: "mapgrid" }, box, side));
  let counts = {};
  try {
    const answer = await api(`/v1/kpis${qs({ dimension: "cell", score: ["open", "overdue"] })}`);
    counts = Object.fromEntries(answer.rows.map((row) => [row.key, { open: row.scores.open?.value || 0, overdue: row.scores.overdue?.value || 0 }]));
  } catch (e) { toast(t("error", e.message), "bad"); }
  await districtMap(box, counts, async (cell) => {
    side.replaceChildren(h("h2", {}, t("cell_cases", cell.code)), h("p", {}, t("cell_open", counts[cell.code]?.open || 0), " · ", t("cell_overdue", counts[cell.code]?.overdue || 0)), h("p", { class: "muted" }, t("loading")));
    const cases = (await fetchCases({ street_code: cell.street_code, state: STATES }, 3)).filter((c) => c.grid?.cell_code === cell.code).sort(byTimeLeft);
    side.lastChild.replaceWith(cases.length ? h("ul", { class: "plain" }, cases.map((c) => h("li", {},
      light(c.traffic_light), " ", h("a", { href: `#/case/${c.id}` }, c.case_no), ` ${t(`st_${c.state}`)} · ${catName(r, c.category)}`))) : h("p", { class: "muted" }, t("none")));
  });
}

// -- big screen (大屏) -----------------------------------------------------------------------------------------
export async function screenView(main, _params, isCurrent) {
  const r = await ref();
  const body = h("div", { class: "screen-body" });
  const stamp = h("span", { class: "stamp" });
  main.replaceChildren(h("div", { class: "screen" }, h("h1", {}, t("screen_title"), " ", stamp), body));
  async function tick() {
    const now = await cityNow();
    const today = cityDate(now);
    const q = (params, score) => qs({ ...params, score });
    const [day, live, channels, hot] = await Promise.all([
      api(`/v1/kpis${q({ from: today }, ["cases", "closed", "closure_rate", "same_day_closure_rate", "on_time_handling_rate"])}`),
      api(`/v1/kpis${q({}, ["open", "overdue"])}`),
      api(`/v1/kpis${q({ dimension: "channel", from: today }, ["cases"])}`),
      api(`/v1/hotspots${qs({ top: 5, days: 7 })}`),
    ]);
    const s = day.rows[0]?.scores || {};
    const l = live.rows[0]?.scores || {};
    const v = (x) => x?.value ?? 0;
    const byChannel = channels.rows.map((row) => [row.key, v(row.scores.cases)]).sort((a, b) => b[1] - a[1]);
    const max = Math.max(1, ...byChannel.map((x) => x[1]));
    const tile = (id, label, value, cls = "") => h("div", { class: `tile ${cls}`, "data-tile": id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
    body.replaceChildren(
      h("div", { class: "tiles" },
        tile("cases", t("screen_today", today), t("cases_n", v(s.cases))),
        tile("open", t("open_cases"), v(l.open)),
        tile("overdue", t("overdue_cases"), v(l.overdue), v(l.overdue) ? "bad" : ""),
        tile("closed", t("closed_cases"), v(s.closed), "good"),
        tile("closure_rate", t("closure_rate"), pct(s.closure_rate?.value)),
        tile("same_day", t("same_day"), pct(s.same_day_closure_rate?.value)),
        tile("on_time", t("on_time_rate"), pct(s.on_time_handling_rate?.value))),
      h("div", { class: "grid2" },
        h("section", { class: "panel dark" }, h("h2", {}, t("intake_by_channel")),
          byChannel.length ? h("ul", { class: "bars" }, byChannel.map(([ch, n]) => h("li", {},
            h("span", { class: "bar-label" }, t(`ch_${ch}`)), h("span", { class: "bar", style: `width:${(n / max) * 100}%` }), h("span", { class: "bar-value" }, n))))
            : h("p", { class: "muted" }, t("none"))),
        h("section", { class: "panel dark" }, h("h2", {}, t("hotspots")),
          hot.rows.length ? h("ol", { class: "hot" }, hot.rows.slice(0, 5).map((row) => h("li", {},
            `${r.streets[row.cell_code.slice(0, 9)] || ""} ${row.cell_code} · ${r.catById[row.category_code]?.name || row.category_code} · ${t("cases_n", row.cases)}`)))
            : h("p", { class: "muted" }, t("none")))));
    stamp.textContent = t("updated", fmtTime(now.toISOString()));
  }
  const REFRESH_MS = 5000;
  async function loop() {
    if (!isCurrent()) return;
    try { await tick(); } catch (e) { stamp.textContent = t("error", e.message); }
    setTimeout(loop, REFRESH_MS);
  }
  await loop();
}
