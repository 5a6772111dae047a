// The case commands: for each action the server may allow, its form and the call that performs it.
// Which actions a user sees is decided by the server (`allowed_actions` of the case), never here.
import { api, ref } from "./api.js";
import { t } from "./i18n.js";
import { openDialog } from "./ui.js";

async function upload(files) {
  if (!files || !files.length) return [];
  const form = new FormData();
  for (const f of files) form.append("photos", f);
  return api("/v1/media", { method: "POST", form });
}

const photos = (required) => ({ name: "photos", label: t("f_photos"), type: "file", accept: "image/jpeg,image/png", multiple: true, required });
const reason = (required = true) => ({ name: "reason", label: t("f_reason"), type: "textarea", required });

async function departmentOptions(except) {
  const r = await ref();
  return r.departments.filter((d) => d.code !== except).map((d) => [d.code, `${d.name} (${d.code})`]);
}

// action -> [path suffix, fields(case), body(values, case)]
const COMMANDS = {
  acknowledge: ["acknowledge", () => [], () => ({})],
  handle: ["handle", () => [{ name: "result", label: t("f_result"), type: "textarea", required: true }, photos(false)],
    async (v) => ({ result: v.result, photos: await upload(v.photos) })],
  return: ["return", () => [reason()], (v) => ({ reason: v.reason })],
  request_extension: ["extension", () => [{ name: "days", label: t("f_days"), type: "number", min: 1, max: 60, required: true, value: "2" }, reason()],
    (v) => ({ days: Number(v.days), reason: v.reason })],
  grant_extension: ["extension/grant", () => [{ name: "days", label: t("f_grant_days"), type: "number", min: 1, max: 60 }],
    (v) => (v.days ? { days: Number(v.days) } : {})],
  refuse_extension: ["extension/refuse", () => [reason()], (v) => ({ reason: v.reason })],
  verify_pass: ["verify", () => [{ name: "note", label: t("f_note"), type: "textarea" }, photos(true)],
    async (v) => ({ passed: true, note: v.note, photos: await upload(v.photos) })],
  verify_fail: ["verify", () => [{ name: "note", label: t("f_note"), type: "textarea", required: true }, photos(true)],
    async (v) => ({ passed: false, note: v.note, photos: await upload(v.photos) })],
  close: ["close", () => [], () => ({})],
  suspend: ["suspend", () => [reason()], (v) => ({ reason: v.reason })],
  resume: ["resume", () => [], () => ({})],
  withdraw: ["withdraw", () => [reason()], (v) => ({ reason: v.reason })],
  first_contact: ["first-contact", () => [{ name: "note", label: t("f_note"), type: "textarea" }], (v) => ({ note: v.note })],
  callback: ["callback", () => [
    { name: "satisfaction", label: t("f_satisfaction"), type: "select", required: true,
      options: ["satisfied", "basic", "unsatisfied"].map((s) => [s, t(`sat_${s}`)]) },
    { name: "channel", label: t("f_channel"), type: "select", options: [["hotline", t("ch_hotline")], ["wechat", t("ch_wechat")]] },
    { name: "comment", label: t("f_comment"), type: "textarea" }],
  (v) => ({ satisfaction: v.satisfaction, channel: v.channel, comment: v.comment })],
  reopen: ["callback", () => [{ name: "comment", label: t("f_comment"), type: "textarea", required: true }],
    (v) => ({ satisfaction: "unsatisfied", comment: v.comment, reopen: true })],
  check_in: ["checkin", () => [], () => ({})],
};

async function fieldsFor(action, c) {
  if (action === "dispatch" || action === "redispatch") {
    return [{ name: "department_code", label: t("f_department"), type: "select", required: true,
      options: await departmentOptions(action === "redispatch" ? c.department_code : null) }, reason(false)];
  }
  if (action === "whistle") {
    return [{ name: "departments", label: t("f_departments"), type: "multi", required: true, options: await departmentOptions(null) }, reason(false)];
  }
  return COMMANDS[action] ? COMMANDS[action][1](c) : [];
}

async function bodyFor(action, values, c) {
  if (action === "dispatch" || action === "redispatch") return { department_code: values.department_code, reason: values.reason };
  if (action === "whistle") return { departments: values.departments, reason: values.reason };
  return COMMANDS[action][2](values, c);
}

const PATH = { dispatch: "dispatch", redispatch: "dispatch", whistle: "whistle" };

export const knownAction = (a) => a in COMMANDS || a in PATH;

// Ask, confirm, perform; resolves to the case as the server now has it, or null when cancelled.
export async function perform(action, c) {
  const path = PATH[action] || COMMANDS[action][0];
  const label = t(`a_${action}`);
  return openDialog({
    title: `${label} · ${c.case_no}`,
    help: t(`h_${action}`),
    fields: await fieldsFor(action, c),
    confirmText: t("confirm_action", label, c.case_no),
    submit: async (values) => {
      const body = { ...(await bodyFor(action, values, c)), version: c.version };
      return api(`/v1/cases/${encodeURIComponent(c.id)}/${path}`, { method: "POST", json: body });
    },
  });
}
