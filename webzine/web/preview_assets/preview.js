// The preview page. State lives in the URL's ?r= (the chosen recipient, an opaque id) and in
// `view`; the server pushes a `build` event after every rebuild and only the parts that depend on
// the build are fetched again: the page itself never reloads, so the search and the scroll
// position in the message survive every save.
"use strict";

const $ = (selector) => document.querySelector(selector);
const view = {
  version: 0, recipient: new URLSearchParams(location.search).get("r") || "", width: "desktop",
  scheme: "light", mode: "html", state: null, query: "",
};

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const data = await response.json();
  return { ok: response.ok, data };
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function lineLink(line) {
  const path = (view.state && view.state.source.path) || "issue";
  return element("a", { href: `#L${line}`, "data-line": String(line), text: `${path}:${line}`,
    onclick: (event) => { event.preventDefault(); showLine(line); } });
}

function renderProblems(state) {
  const box = $("#problems");
  box.replaceChildren();
  const problems = [...(state.error ? [state.error] : []), ...state.notices];
  for (const problem of problems) {
    const label = problem.level === "error" ? "빌드 오류" : "알림";
    // "issues/x.md:12: message" → the location becomes the link to that line of the issue.
    const located = problem.line ? problem.message.match(/^.+?:\d+: /) : null;
    const message = located ? problem.message.slice(located[0].length) : problem.message;
    const node = element("div", { class: `problem ${problem.level}`, role: problem.level === "error" ? "alert" : "note" },
      element("strong", { text: `${label}: ` }), problem.line ? lineLink(problem.line) : null,
      problem.line ? ": " : null, message,
      problem.hint ? element("span", { class: "hint", text: `도움말: ${problem.hint}` }) : null,
      problem.level === "error" && state.stale
        ? element("span", { class: "hint", text: "아래는 마지막으로 성공한 빌드입니다. 고쳐서 저장하면 바로 다시 만듭니다." }) : null);
    box.append(node);
  }
}

function renderStatus(state) {
  const status = $("#build-status");
  const time = new Date(state.built_at * 1000).toLocaleTimeString("ko-KR");
  status.dataset.version = String(state.version);
  status.className = state.error ? "status failed" : "status";
  status.textContent = state.error
    ? `빌드 #${state.version} 실패 · ${time}`
    : `빌드 #${state.version} · ${time} · ${state.seconds.toFixed(2)}초`;
}

function renderLint(state) {
  const box = $("#lint");
  box.replaceChildren();
  if (!state.lint) { box.append(element("p", { class: "muted", text: "빌드가 끝나면 보입니다." })); return; }
  const { findings, html_bytes: htmlBytes } = state.lint;
  const size = `HTML ${(htmlBytes / 1024).toFixed(1)} KB`;
  if (!findings.length) { box.append(element("p", { id: "lint-ok", text: `문제 없음 · ${size}` })); return; }
  const list = element("ul", { class: "findings" });
  for (const finding of findings) {
    list.append(element("li", { class: finding.level, "data-code": finding.code },
      element("span", { class: "level", text: finding.level === "error" ? "오류" : "경고" }),
      element("code", { text: finding.code }), " ", finding.line ? lineLink(finding.line) : null,
      element("div", { text: finding.message })));
  }
  box.append(list, element("p", { class: "muted small", text: size }));
}

function renderSource(state) {
  const list = $("#source");
  list.replaceChildren(...state.source.lines.map((line, index) =>
    element("li", { id: `L${index + 1}`, text: line || " " })));
}

function showLine(line) {
  setMode("source");
  for (const hit of document.querySelectorAll("#source li.hit")) hit.classList.remove("hit");
  const target = document.getElementById(`L${line}`);
  if (target) { target.classList.add("hit"); target.scrollIntoView({ block: "center" }); }
}

async function loadState() {
  const { data } = await getJSON("/api/state");
  view.state = data;
  view.version = data.version;
  $("#publication").textContent = data.publication;
  $("#issue-title").textContent = data.issue ? data.issue.title : "빌드하지 못했습니다";
  document.title = `${data.issue ? data.issue.title : "미리보기"} · 미리보기`;
  if (!view.recipient) view.recipient = data.recipients.default;
  renderStatus(data); renderProblems(data); renderLint(data); renderSource(data);
  const { count, excluded } = data.recipients;
  $("#recipient-count").textContent = `발송 대상 ${count}명` + (excluded ? ` · 목록에서 제외 ${excluded}건` : "");
}

async function loadRecipients() {
  const { data } = await getJSON(`/api/recipients?q=${encodeURIComponent(view.query)}`);
  const list = $("#recipient-results");
  list.replaceChildren(...data.matches.map((person) => element("li", {
    role: "option", class: "recipient-option", "data-id": person.id, tabindex: "0",
    "aria-selected": String(person.id === view.recipient), onclick: () => choose(person.id),
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(person.id); } } },
  element("span", { class: "who", text: person.name || "(이름 없음)" }),
  element("span", { class: "where", text: [person.company, person.email].filter(Boolean).join(" · ") }))));
  if (data.total > data.matches.length) {
    list.append(element("li", { class: "muted small", text: `외 ${data.total - data.matches.length}명 — 더 좁혀 찾아 주세요` }));
  }
  if (!data.total) list.append(element("li", { class: "muted", text: "찾는 사람이 없습니다" }));
}

function renderCard(message) {
  const person = message.recipient;
  const rows = [["이메일", person.email], ["회사", person.company], ["수식어", person.adjective],
    ["태그", (person.tags || []).join(", ")],
    ["담당", person.manager ? [person.manager.name, person.manager.title].filter(Boolean).join(" ") : "없음"],
    ["회신 주소", message.reply_to]];
  $("#recipient-card").replaceChildren(element("h2", { text: "선택한 받는 사람" }),
    element("div", { class: "card" }, element("strong", { id: "card-name", text: person.name || "(이름 없음)" }),
      element("dl", {}, ...rows.filter(([, value]) => value).flatMap(([term, value]) =>
        [element("dt", { text: term }), element("dd", { text: value })]))));
}

async function loadMessage() {
  const { ok, data } = await getJSON(`/api/message?r=${encodeURIComponent(view.recipient)}`);
  if (data.recipient) { view.recipient = data.recipient.id; renderCard({ reply_to: "", ...data }); }
  $(".inbox-sender").textContent = ok ? data.sender_name : "";
  $(".inbox-sender").title = ok ? data.sender_email : "";
  $(".inbox-subject").textContent = ok ? data.subject : "";
  $(".inbox-preheader").textContent = ok ? data.preheader : "";
  $("#text-part").textContent = ok ? data.text : data.error;
}

function loadFrame() {
  const frame = $("#frame");
  let scroll = 0;
  try { scroll = frame.contentWindow.scrollY || 0; } catch (error) { scroll = 0; }
  const page = view.mode === "web" ? "web.html" : "email.html";
  const params = new URLSearchParams({ r: view.recipient, scheme: view.scheme, v: String(view.version) });
  const source = `/issue/${page}?${params}`;
  if (frame.getAttribute("src") === source) return;
  frame.onload = () => { try { frame.contentWindow.scrollTo(0, scroll); } catch (error) { /* cross-origin: none */ } };
  frame.setAttribute("src", source);
  frame.dataset.src = source;
}

async function refresh() {
  await loadState();
  await Promise.all([loadRecipients(), loadMessage()]);
  loadFrame();
  document.body.dataset.loadedVersion = String(view.version);
}

function choose(id) {
  view.recipient = id;
  const url = new URL(location.href);
  url.searchParams.set("r", id);
  history.replaceState(null, "", url);
  for (const option of document.querySelectorAll(".recipient-option")) {
    option.setAttribute("aria-selected", String(option.dataset.id === id));
  }
  loadMessage();
  loadFrame();
}

function press(ids, chosen) {
  for (const id of ids) $(`#${id}`).setAttribute("aria-pressed", String(id === chosen));
}

function setWidth(width) {
  view.width = width;
  press(["width-desktop", "width-mobile"], `width-${width}`);
  $("#stage").classList.toggle("mobile", width === "mobile");
  $("#stage").classList.toggle("desktop", width === "desktop");
}

function setScheme(scheme) {
  view.scheme = scheme;
  press(["scheme-light", "scheme-dark"], `scheme-${scheme}`);
  $("#stage").classList.toggle("dark", scheme === "dark");
  $("#stage").classList.toggle("light", scheme === "light");
  loadFrame();
}

function setMode(mode) {
  view.mode = mode;
  press(["view-html", "view-text", "view-web", "view-source"], `view-${mode}`);
  $("#frame").hidden = !(mode === "html" || mode === "web");
  $("#text-part").hidden = mode !== "text";
  $("#source").hidden = mode !== "source";
  $("#inbox").hidden = mode === "web" || mode === "source";
  if (!$("#frame").hidden) loadFrame();
}

function listen() {
  const events = new EventSource("/events");
  events.addEventListener("build", (event) => {
    if (Number(event.data) !== view.version) refresh();
  });
  events.onerror = () => {
    const status = $("#build-status");
    status.className = "status offline";
    status.textContent = "서버와 연결이 끊겼습니다 — webzine preview가 실행 중인지 확인해 주세요";
  };
  events.onopen = () => { if (view.state) renderStatus(view.state); };
}

function start() {
  let timer = 0;
  $("#recipient-search").addEventListener("input", (event) => {
    clearTimeout(timer);
    timer = setTimeout(() => { view.query = event.target.value; loadRecipients(); }, 120);
  });
  $("#recipient-search").addEventListener("keydown", async (event) => {
    if (event.key !== "Enter" && event.key !== "ArrowDown") return;
    event.preventDefault();
    if (view.query !== event.target.value) {  // typed faster than the debounce: search now
      clearTimeout(timer);
      view.query = event.target.value;
      await loadRecipients();
    }
    const first = document.querySelector(".recipient-option");
    if (!first) return;
    if (event.key === "Enter") choose(first.dataset.id); else first.focus();
  });
  $("#width-desktop").addEventListener("click", () => setWidth("desktop"));
  $("#width-mobile").addEventListener("click", () => setWidth("mobile"));
  $("#scheme-light").addEventListener("click", () => setScheme("light"));
  $("#scheme-dark").addEventListener("click", () => setScheme("dark"));
  for (const mode of ["html", "text", "web", "source"]) {
    $(`#view-${mode}`).addEventListener("click", () => setMode(mode));
  }
  refresh().then(listen);
}

start();
