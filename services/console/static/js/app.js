// The shell: sign-in state, navigation by role, hash routes, language switch.
import { session, whenSignedOut } from "./api.js";
import { lang, setLang, t, translateStatic } from "./i18n.js";
import { h } from "./ui.js";
import * as views from "./views.js";

// What each role works with first, and which pages it may open (the API decides what they show).
const NAV = {
  dispatcher: ["dispatch", "cases", "map", "screen"],
  department: ["inbox", "cases", "map", "screen"],
  inspector: ["cases", "map"],
  supervisor: ["supervise", "dispatch", "cases", "map", "street", "screen"],
  street: ["street", "cases", "map", "screen"],
  admin: ["dispatch", "inbox", "supervise", "street", "cases", "map", "screen"],
};
const PAGES = {
  dispatch: views.dispatchView, cases: views.casesView, inbox: views.inboxView, map: views.mapView,
  supervise: views.superviseView, street: views.streetView, screen: views.screenView,
};

let renderSeq = 0;

function parse() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [page, arg] = path.split("/");
  return { page, arg, params: Object.fromEntries(new URLSearchParams(query)) };
}

function shell(s) {
  const nav = document.getElementById("nav");
  const { page } = parse();
  nav.replaceChildren(...(s ? NAV[s.role] || ["cases"] : []).map((p) =>
    h("a", { href: `#/${p}`, "aria-current": p === page ? "page" : null }, t(`nav_${p}`))));
  document.getElementById("whoami").textContent = s ? `${s.name} · ${s.role}${s.unit ? ` · ${s.unit}` : ""}` : "";
  document.getElementById("signout").hidden = !s;
  const other = lang === "en" ? "zh-CN" : "en";
  const button = document.getElementById("lang");
  button.textContent = other === "en" ? "English" : "中文";
  button.lang = other;
  translateStatic();
  document.title = `CityLoop · ${t("brand")}`;
}

async function render() {
  const seq = ++renderSeq;
  const main = document.getElementById("main");
  const s = session.get();
  document.body.classList.toggle("wall", parse().page === "screen");
  if (!s || (s.exp && s.exp * 1000 < Date.now())) {
    session.clear();
    shell(null);
    views.signInView(main, () => {  // back to the page asked for, if this role has it; else the role's first page
      const pages = NAV[session.get().role] || ["cases"];
      const { page } = parse();
      const target = page === "case" || pages.includes(page) ? location.hash : `#/${pages[0]}`;
      if (location.hash === target) render(); else location.hash = target;
    });
    return;
  }
  const { page, arg, params } = parse();
  if (!page) { location.hash = `#/${(NAV[s.role] || ["cases"])[0]}`; return; }
  shell(s);
  views.loadingInto(main);
  try {
    if (page === "case" && arg) await views.caseView(main, decodeURIComponent(arg), render);
    else await (PAGES[page] || views.casesView)(main, params, () => seq === renderSeq);
  } catch (e) {
    if (seq === renderSeq) main.replaceChildren(h("p", { class: "error", role: "alert" }, t("error", e.message)));
  }
}

whenSignedOut(() => render());
window.addEventListener("hashchange", () => { render(); document.getElementById("main").focus({ preventScroll: true }); });
document.getElementById("signout").addEventListener("click", () => { session.clear(); location.hash = ""; render(); });
document.getElementById("lang").addEventListener("click", () => { setLang(lang === "en" ? "zh-CN" : "en"); render(); });
setLang(lang);
render();
