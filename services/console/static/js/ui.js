// Small DOM helpers: elements, formatting, traffic lights, the confirmation dialog.
import { lang, t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let toastTimer;
export function toast(message, kind = "ok") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = ""; }, 6000);
}

const TZ = "Asia/Shanghai";
export function fmtTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: TZ, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}
export function cityDate(d) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}
export const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 1000) / 10}%`);

export function light(value) {
  const name = value || "none";
  return h("span", { class: `light light-${name}`, title: t(`light_${name}`) }, t(`light_${name}`));
}

// The share of working time left on the tightest running clock (the API gives the share used per deadline).
export function timeLeft(c) {
  const running = (c.deadlines || []).filter((d) => d.status === "active" && d.elapsed !== null && !d.suspended);
  if (!running.length) return null;
  const tight = running.reduce((a, b) => (b.elapsed > a.elapsed ? b : a));
  return { share: 1 - tight.elapsed, deadline: tight };
}

export function byTimeLeft(a, b) {
  const x = timeLeft(a), y = timeLeft(b);
  if (!x && !y) return 0;
  if (!x) return 1;
  if (!y) return -1;
  return x.share - y.share || new Date(x.deadline.due_at) - new Date(y.deadline.due_at);
}

export function leftCell(c) {
  const left = timeLeft(c);
  if (!left) return h("span", { class: "muted" }, "—");
  const share = Math.round(left.share * 100);
  return h("span", { class: share < 0 ? "overdue" : "" },
    share < 0 ? t("overdue") : t("left", share), h("small", {}, ` · ${t(`dl_${left.deadline.kind}`)} ${fmtTime(left.deadline.due_at)}`));
}

// One modal dialog for every command: fields, a confirmation line, the server's refusal shown in place.
export function openDialog({ title, help, fields = [], confirmText, submit }) {
  const dialog = document.getElementById("dialog");
  const box = document.getElementById("dialog-fields");
  const err = document.getElementById("dialog-error");
  document.getElementById("dialog-title").textContent = title;
  document.getElementById("dialog-help").textContent = help || "";
  err.textContent = "";
  box.replaceChildren(...fields.map(field), confirmText ? h("p", { class: "confirm-line" }, confirmText) : "");
  const form = document.getElementById("dialog-form");
  const ok = document.getElementById("dialog-ok");
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const close = (value) => {
      form.onsubmit = null;
      document.getElementById("dialog-cancel").onclick = null;
      dialog.close();
      if (opener && opener.isConnected) opener.focus();  // keyboard users continue where they were
      resolve(value);
    };
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      const values = {};
      for (const f of fields) {
        const el = form.elements[f.name];
        if (f.type === "file") values[f.name] = [...el.files];
        else if (f.type === "multi") values[f.name] = [...el.selectedOptions].map((o) => o.value);
        else values[f.name] = el.value;
      }
      ok.disabled = true;
      err.textContent = "";
      try {
        close(await submit(values));
      } catch (e) {
        err.textContent = t("error", e.message) + (e.field ? ` (${e.field})` : "");
      } finally {
        ok.disabled = false;
      }
    };
    dialog.oncancel = () => close(null);
    document.getElementById("dialog-cancel").onclick = () => close(null);
    dialog.showModal();
    const first = box.querySelector("input, select, textarea");
    (first || ok).focus();
  });
}

let fieldSeq = 0;
function field(f) {
  const id = `f-${f.name}-${++fieldSeq}`;
  let control;
  if (f.type === "select" || f.type === "multi") {
    control = h("select", { id, name: f.name, required: f.required, multiple: f.type === "multi", size: f.type === "multi" ? 6 : undefined },
      f.options.map(([v, label]) => h("option", { value: v, selected: v === f.value }, label)));
  } else if (f.type === "textarea") {
    control = h("textarea", { id, name: f.name, required: f.required, minlength: f.minlength, maxlength: f.maxlength || 2000, rows: 3 });
    control.value = f.value || "";
  } else {
    control = h("input", { id, name: f.name, type: f.type || "text", required: f.required, min: f.min, max: f.max,
      accept: f.accept, multiple: f.multiple, minlength: f.minlength, value: f.value });
  }
  return h("div", { class: "field" }, h("label", { for: id }, f.label), control);
}
