/*
 * Agent console. Talks to /api/v1/console/* (JSON, CSRF header) and /console/ws (events).
 * No build step, no dependencies. Everything a customer or colleague wrote is rendered with
 * textContent, never as HTML; only FAQ answers in the knowledge-base panel come as HTML, the
 * portal's sanitised rendering of their Markdown (answer_html). Wire protocol: see
 * portal/console/socket.py.
 */
(() => {
  "use strict";

  const root = document.querySelector("[data-testid=console]");
  if (!root) return;
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const S = config.strings;
  const $ = (id) => root.querySelector(`[data-testid="${id}"]`);
  const API = "/api/v1/console";
  const PING_MS = 20000;
  const TYPING_IDLE_MS = 4000;

  const state = {
    queue: [],
    chats: [],
    live: new Map(),
    agents: [],
    current: null, // the conversation shown: its detail from the API
    seen: new Set(), // message and note ids already in the transcript
    socket: null,
    attempt: 0,
    typingSent: false,
    typingTimer: 0,
    customerTypingTimer: 0,
    pending: new Map(), // client_id -> transcript row of a message not yet confirmed
    drafts: new Map(), // ticket number -> what the agent typed into its visit form
  };

  // ------------------------------------------------------------------ helpers

  function fmt(text, params) {
    return String(text || "").replace(/\{(\w+)\}/g, (_, k) => (k in params ? String(params[k]) : ""));
  }

  function el(tag, cls, attrs, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const options = { hour: "2-digit", minute: "2-digit", timeZone: config.timeZone || "Asia/Shanghai" };
    return isNaN(d) ? "" : d.toLocaleTimeString(config.lang === "en" ? "en-GB" : "zh-CN", options);
  }

  function waited(iso) {
    const start = new Date(iso).getTime();
    if (!iso || isNaN(start)) return "";
    const s = Math.max(0, Math.floor((Date.now() - start) / 1000));
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}` : `${m}:${String(s % 60).padStart(2, "0")}`;
  }

  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, options);
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const message = data && (config.lang === "en" ? data.message_en : data.message_zh);
      throw new Error(message || String(response.status));
    }
    return data;
  }

  function showError(error) {
    const box = $("chat-error");
    box.textContent = fmt(S.error, { message: error.message || error });
    box.hidden = false;
    setTimeout(() => (box.hidden = true), 6000);
  }

  const guard = (work) => (...args) => Promise.resolve(work(...args)).catch(showError);

  // ------------------------------------------------------------------ left column

  function renderChats() {
    const list = $("chats");
    list.replaceChildren();
    for (const chat of state.chats) {
      const item = el("li", "console-item", { "data-testid": "chat-item", "data-id": chat.public_id });
      if (state.current && state.current.public_id === chat.public_id) item.classList.add("active");
      const title = el("div", "item-title");
      title.append(el("strong", "", {}, chat.customer_name || S.customer_anonymous));
      if (chat.vip) title.append(el("span", "badge vip", {}, "VIP"));
      title.append(el("span", "muted small", {}, S["channel_" + chat.channel] || chat.channel));
      item.append(title, el("div", "preview muted small", {}, chat.preview));
      item.addEventListener("click", () => open(chat.public_id));
      list.append(item);
    }
    if (!state.chats.length) list.append(el("li", "muted small", {}, S.none));
    $("chat-count").textContent = state.chats.length ? String(state.chats.length) : "";
  }

  function renderQueue() {
    const list = $("queue");
    list.replaceChildren();
    for (const entry of state.queue) {
      const item = el("li", "console-item", {
        "data-testid": "queue-item",
        "data-id": entry.public_id,
      });
      if (entry.offered_to === config.userId) item.classList.add("offered");
      if (entry.escalated) item.classList.add("escalated");
      const title = el("div", "item-title");
      title.append(el("strong", "", {}, entry.customer_name || S.customer_anonymous));
      if (entry.vip) title.append(el("span", "badge vip", {}, "VIP"));
      if (entry.escalated) title.append(el("span", "badge off", { "data-testid": "escalated" }, S.escalated));
      if (entry.offered_to === config.userId) title.append(el("span", "badge ok", { "data-testid": "offered" }, S.offered));
      else if (entry.offered_to && config.supervisor) {
        // Supervisors see who holds each offer.
        title.append(el("span", "badge muted", { "data-testid": "offered-to", "data-agent": String(entry.offered_to) }, fmt(S.offered_to, { name: agentName(entry.offered_to) })));
      }
      const wait = el("span", "wait small", { "data-wait-since": entry.waiting_since || "" });
      wait.textContent = waited(entry.waiting_since);
      title.append(wait);
      const meta = [S["reason_" + entry.reason] || "", entry.product_line || "", entry.team ? fmt(S.team, { team: entry.team }) : ""].filter(Boolean).join(" · ");
      item.append(title, el("div", "muted small", {}, meta), el("div", "preview small", {}, entry.preview));
      const accept = el("button", "small-button", { type: "button", "data-testid": "queue-accept" }, S.accept);
      accept.addEventListener("click", guard(async (event) => {
        event.stopPropagation();
        await api("POST", `/conversations/${entry.public_id}/accept`);
        await open(entry.public_id);
      }));
      item.append(accept);
      item.addEventListener("click", () => open(entry.public_id));
      list.append(item);
    }
    if (!state.queue.length) list.append(el("li", "muted small", {}, S.none));
    $("queue-count").textContent = state.queue.length ? String(state.queue.length) : "";
  }

  function renderLive() {
    const list = $("live");
    list.replaceChildren();
    const items = [...state.live.values()].sort((a, b) => (a.last_message_at < b.last_message_at ? 1 : -1));
    for (const entry of items.slice(0, 30)) {
      const item = el("li", "console-item", { "data-testid": "live-item", "data-id": entry.public_id });
      const title = el("div", "item-title");
      title.append(el("strong", "", {}, entry.customer_name || S.customer_anonymous));
      title.append(el("span", "muted small", {}, S["channel_" + entry.channel] || entry.channel));
      title.append(el("span", "muted small", {}, clock(entry.last_message_at)));
      item.append(title, el("div", "preview small", {}, entry.preview));
      const pick = el("button", "small-button ghost", { type: "button", "data-testid": "live-pickup" }, S.pickup);
      pick.addEventListener("click", guard(async (event) => {
        event.stopPropagation();
        await api("POST", `/conversations/${entry.public_id}/pickup`);
        state.live.delete(entry.public_id);
        renderLive();
        await open(entry.public_id);
      }));
      item.append(pick);
      item.addEventListener("click", () => open(entry.public_id));
      list.append(item);
    }
    if (!items.length) list.append(el("li", "muted small", {}, S.none));
  }

  function agentName(id) {
    if (id === config.userId) return S.author_agent;
    const known = state.agents.find((a) => a.user_id === id) || config.agents.find((a) => a.id === id);
    return known ? known.name || known.display_name || String(id) : String(id);
  }

  function conversationLinks(ids, testid) {
    const box = el("div", "small agent-links", { "data-testid": testid });
    for (const id of ids) {
      const waiting = state.queue.find((q) => q.public_id === id);
      const label = waiting && waiting.customer_name ? waiting.customer_name : id.slice(0, 8);
      const link = el("a", "", { href: "#", "data-id": id }, label);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        open(id);
      });
      box.append(link, document.createTextNode(" "));
    }
    return box;
  }

  function renderAgents() {
    const list = $("agents");
    if (!list) return;
    list.replaceChildren();
    for (const agent of state.agents) {
      const item = el("li", "console-item agent-row", { "data-testid": "agent-row", "data-id": String(agent.user_id) });
      const title = el("div", "item-title");
      title.append(el("span", "dot " + agent.status, { title: S["status_" + agent.status] }));
      title.append(el("strong", "", {}, agent.name));
      title.append(el("span", "muted small", { "data-testid": "agent-status" }, S["status_" + agent.status]));
      // The limit counts accepted chats; offers are shown apart (they never block a chat).
      title.append(el("span", "small", { "data-testid": "agent-load", title: fmt(S.chats_load, { chats: agent.chats.length, max: agent.max_chats }) }, `${agent.chats.length}/${agent.max_chats}`));
      item.append(title);
      if (agent.chats.length) item.append(conversationLinks(agent.chats, "agent-chats"));
      const offers = agent.offers || [];
      if (offers.length) {
        const held = conversationLinks(offers, "agent-offers");
        held.prepend(el("span", "muted", {}, fmt(S.offers_held, { list: "" })));
        item.append(held);
      }
      list.append(item);
    }
  }

  function notify(text) {
    const list = $("alerts");
    if (!list) return;
    list.prepend(el("li", "flash flash-warn small", { "data-testid": "alert" }, text));
    while (list.children.length > 5) list.lastChild.remove();
  }

  setInterval(() => {
    for (const node of root.querySelectorAll("[data-wait-since]")) {
      node.textContent = waited(node.getAttribute("data-wait-since"));
    }
  }, 1000);

  // ------------------------------------------------------------------ the conversation

  function authorLabel(message) {
    if (message.author === "agent") return S.author_agent;
    return S["author_" + message.author] || message.author;
  }

  function appendMessage(message) {
    const key = "m" + message.id;
    if (state.seen.has(key)) return;
    state.seen.add(key);
    const row = el("li", "msg msg-" + message.author, {
      "data-testid": "msg",
      "data-author": message.author,
      "data-id": String(message.id),
    });
    const head = el("div", "msg-head small muted");
    head.append(el("span", "", {}, authorLabel(message)), el("span", "", {}, clock(message.created_at)));
    const bubble = el("div", "bubble", { "data-testid": "msg-text" });
    // Bot and system messages come rendered by the portal (safe HTML, the help centre's
    // Markdown); what people typed is only ever text.
    if (typeof message.html === "string") {
      bubble.innerHTML = message.html;
      bubble.classList.add("rich");
    } else {
      bubble.textContent = message.text;
    }
    row.append(head, bubble);
    const image = typeof message.image_url === "string" ? message.image_url : "";
    if (image.startsWith("/api/v1/console/attachments/")) {
      // Our own copy of a photo the customer sent.
      const link = el("a", "msg-image", { href: image, target: "_blank", rel: "noopener", "data-testid": "msg-image" });
      link.append(el("img", "", { src: image, alt: S.image, loading: "lazy" }));
      row.append(link);
    } else if (/^https?:\/\//i.test(image)) {
      // Not kept (a note says why): the channel's own link, opened outside the console.
      row.append(el("a", "msg-image-link small", { href: image, target: "_blank", rel: "noopener noreferrer", "data-testid": "msg-image-link" }, S.image_link));
    }
    if (message.buttons && message.buttons.length) {
      const buttons = el("div", "msg-buttons small muted");
      buttons.textContent = message.buttons.map((b) => `[${b.title}]`).join(" ");
      row.append(buttons);
    }
    const stick = atBottom();
    $("transcript").append(row);
    // A photo grows the row when it loads: keep the newest message in view.
    for (const img of row.querySelectorAll("img")) img.addEventListener("load", () => stick && scrollDown());
    if (stick || message.author === "agent") scrollDown();
  }

  function appendNote(note) {
    const key = "n" + note.id;
    if (state.seen.has(key)) return;
    state.seen.add(key);
    const row = el("li", "note note-" + note.kind, { "data-testid": "note", "data-kind": note.kind });
    const head = el("div", "msg-head small");
    head.append(
      el("span", "", {}, `${S["note_" + note.kind] || S.note_note} · ${note.author_name || ""}`),
      el("span", "", {}, clock(note.created_at)),
    );
    row.append(head, el("div", "bubble", {}, note.body));
    const stick = atBottom();
    $("transcript").append(row);
    if (stick) scrollDown();
  }

  // Whether the agent reads the newest messages (not scrolled back to older ones).
  function atBottom() {
    const box = $("transcript");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  }

  function scrollDown() {
    const box = $("transcript");
    box.scrollTop = box.scrollHeight;
  }

  // The customer's last message when nobody has answered it since, else null: the bot's
  // answer before the takeover counts (a tester was warned of a message the bot had answered).
  function unanswered() {
    const rows = [...$("transcript").querySelectorAll("[data-testid=msg]")].reverse();
    for (const row of rows) {
      const author = row.getAttribute("data-author");
      if (author === "agent" || author === "bot") return null;
      if (author === "customer") return row.querySelector("[data-testid=msg-text]").textContent || "…";
    }
    return null;
  }

  // An in-page confirmation; warns (and says so on its button) when the customer waits for
  // an answer. Resolves true when the agent confirms.
  function confirmAction(kind) {
    const dialog = $("confirm-dialog");
    const waiting = unanswered();
    $("confirm-title").textContent = S["do_" + kind];
    $("confirm-text").textContent = S["confirm_" + kind];
    const warn = $("confirm-unanswered");
    warn.hidden = waiting === null;
    warn.querySelector("strong").textContent = S.unanswered;
    $("confirm-quote").textContent = waiting || "";
    // Handing back to a bot that is down leaves the customer with its fallback only: say so
    // (the portal's health check, asked as the dialog opens).
    const down = $("confirm-bot-down");
    down.hidden = true;
    delete down.dataset.checked;
    if (kind === "handback") {
      fetch("/healthz", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => response.json())
        .then((health) => {
          const rasa = health && health.checks && health.checks.rasa;
          down.hidden = !rasa || rasa.status === "up";
          down.dataset.checked = "yes";
        })
        .catch(() => {});
    }
    const ok = $("confirm-ok");
    ok.textContent = waiting === null ? S["do_" + kind] : S["anyway_" + kind];
    ok.className = kind === "close" ? "danger" : "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }

  function isMine(detail) {
    return detail.state === "agent" && (detail.agent_id === config.userId || config.supervisor);
  }

  function renderHeader() {
    const d = state.current;
    const chat = root.querySelector(".chat");
    chat.hidden = false;
    $("chat-empty").hidden = true;
    $("chat-title").textContent = d.customer_name || S.customer_anonymous;
    const stateBadge = $("chat-state");
    stateBadge.textContent = S["state_" + d.state] || d.state;
    stateBadge.dataset.state = d.state;
    const meta = [S["channel_" + d.channel] || d.channel, d.vip ? "VIP" : "", S["reason_" + d.handoff_reason] || "", d.product_line || "", d.agent_name ? fmt(S.with_agent, { name: d.agent_name }) : ""];
    $("chat-meta").textContent = meta.filter(Boolean).join(" · ");
    const offered = state.queue.find((q) => q.public_id === d.public_id && q.offered_to === config.userId);
    $("accept").hidden = d.state !== "waiting";
    $("decline").hidden = !offered;
    $("pickup").hidden = d.state !== "bot";
    $("handback").hidden = !isMine(d);
    $("close-chat").hidden = !isMine(d);
    $("composer-form").hidden = !isMine(d);
    $("panels").hidden = false;
    $("transfer-panel").hidden = !isMine(d);
    $("kb-panel").hidden = !config.kb || !isMine(d);
    const summary = d.handoff_summary || "";
    $("summary").hidden = !d.handoff_reason;
    $("summary-text").textContent = summary || S.no_summary;
    $("customer-typing").hidden = true;
  }

  async function open(publicId) {
    const detail = await api("GET", `/conversations/${publicId}`).catch(showError);
    if (!detail) return;
    state.current = detail;
    state.seen = new Set();
    state.pending.clear();
    $("transcript").replaceChildren();
    const items = [
      ...detail.messages.map((m) => ({ at: m.created_at, id: m.id, kind: "m", value: m })),
      ...detail.notes.map((n) => ({ at: n.created_at, id: n.id, kind: "n", value: n })),
    ].sort((a, b) => (a.at === b.at ? a.id - b.id : a.at < b.at ? -1 : 1));
    for (const item of items) (item.kind === "m" ? appendMessage : appendNote)(item.value);
    renderHeader();
    // Shown only now (hidden while it filled): open at the newest message.
    scrollDown();
    renderChats();
    $("ticket-created").hidden = true;
    $("kb-results").replaceChildren();
    $("ticket-form").reset(); // the sidebar fills in the customer's phone and name
    fillDraft(detail);
    loadSidebar(publicId);
  }

  // What the customer told the bot (product, fault, phone, address), into the ticket form's
  // empty fields only: what the agent typed stays.
  function fillDraft(detail) {
    const form = $("ticket-form");
    const draft = detail.ticket_draft || {};
    for (const name of ["product", "fault_description", "phone", "address", "city"]) {
      const input = form.elements.namedItem(name);
      if (input && !input.value && draft[name]) input.value = draft[name];
    }
  }

  async function refreshCurrent() {
    if (!state.current) return;
    const detail = await api("GET", `/conversations/${state.current.public_id}`).catch(() => null);
    if (!detail || !state.current || detail.public_id !== state.current.public_id) return;
    state.current = detail;
    for (const m of detail.messages) appendMessage(m);
    for (const n of detail.notes) appendNote(n);
    renderHeader();
    fillDraft(detail); // taken over just now: the number is shown to its holder
  }

  // ------------------------------------------------------------------ customer sidebar

  function section(title, testid, rows) {
    const box = el("section", "side-section", { "data-testid": testid });
    box.append(el("h3", "", {}, title));
    if (!rows.length) box.append(el("p", "muted small", {}, S.none));
    const list = el("ul", "side-list");
    for (const row of rows) list.append(row);
    box.append(list);
    return box;
  }

  function ticketRow(ticket) {
    const row = el("li", "side-ticket", { "data-testid": "side-ticket", "data-number": ticket.number });
    const link = el("a", "", { href: `/tickets/${encodeURIComponent(ticket.number)}`, target: "_blank", rel: "noopener" }, ticket.number);
    row.append(link, el("span", "status small", {}, ticket.status_label));
    if (state.current && ticket.conversation_id === state.current.public_id) row.append(el("span", "badge muted small", {}, S.this_chat));
    row.append(el("div", "muted small", {}, `${ticket.product} ${ticket.fault_description}`.trim()));
    const visit = el("dl", "facts visit small", { "data-testid": "side-visit" });
    const add = (k, v, testid) => visit.append(el("dt", "", {}, k), el("dd", "", { "data-testid": testid }, v || "—"));
    add(S.visit_address, ticket.address, "side-address");
    add(S.visit_time, ticket.visit_label, "side-window");
    add(S.contact_name, ticket.contact_name, "side-contact-name");
    add(S.contact_phone, ticket.phone, "side-contact-phone");
    row.append(visit);
    if (ticket.editable) row.append(visitForm(ticket, row));
    return row;
  }

  // The visit details of a ticket, corrected from the chat. What the agent typed is kept
  // (across sidebar reloads too) until it is saved; a refusal names the field, nothing is lost.
  function visitForm(ticket, row) {
    const draft = state.drafts.get(ticket.number);
    const box = el("details", "visit-edit", { "data-testid": "visit-edit", "data-number": ticket.number });
    if (draft) box.open = true;
    box.append(el("summary", "small", {}, S.edit_visit));
    const form = el("form", "visit-form", { novalidate: "" });
    const fields = [
      ["address", S.visit_address, ticket.address, 255, ""],
      ["preferred_time", S.visit_time, ticket.preferred_time ? ticket.visit_label : "", 64, S.visit_time_hint],
      ["customer_name", S.contact_name, ticket.contact_name, 100, ""],
      // A masked number (a chat this agent does not hold) is no use in a form.
      ["phone", S.contact_phone, ticket.phone.includes("*") ? "" : ticket.phone, 30, ""],
    ];
    const initial = {};
    for (const [name, text, value, max, hint] of fields) {
      initial[name] = value || "";
      const label = el("label", "", {}, text);
      const input = el("input", "", { name, maxlength: String(max), "data-testid": `visit-${name}`, placeholder: hint, autocomplete: "off" });
      input.value = draft && name in draft ? draft[name] : initial[name];
      input.addEventListener("input", () => {
        input.removeAttribute("aria-invalid");
        const typed = Object.fromEntries(new FormData(form).entries());
        state.drafts.set(ticket.number, typed);
      });
      label.append(input);
      form.append(label);
    }
    const error = el("p", "flash flash-error small", { "data-testid": "visit-error", role: "alert" });
    error.hidden = true;
    const done = el("p", "flash flash-ok small", { "data-testid": "visit-saved" }, S.saved);
    done.hidden = true;
    const save = el("button", "small-button", { type: "submit", "data-testid": "visit-save" }, S.save);
    form.append(error, done, save);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!state.current) return;
      error.hidden = true;
      done.hidden = true;
      const body = {};
      for (const [name, value] of new FormData(form).entries()) {
        const typed = String(value).trim();
        if (typed && typed !== initial[name]) body[name] = typed;
      }
      if (!Object.keys(body).length) {
        // Nothing typed, or nothing changed: say so (it was "已保存", which it never was).
        error.textContent = S.visit_nothing;
        error.hidden = false;
        form.querySelector("input").focus();
        return;
      }
      save.disabled = true;
      try {
        const response = await fetch(`${API}/conversations/${state.current.public_id}/tickets/${encodeURIComponent(ticket.number)}`, {
          method: "PATCH",
          credentials: "same-origin",
          headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body),
        });
        const data = await response.json().catch(() => null);
        if (!response.ok) {
          const problem = data && data.errors && data.errors[0];
          const zh = (problem && problem.message_zh) || (data && data.message_zh) || String(response.status);
          const en = (problem && problem.message_en) || (data && data.message_en) || "";
          // In the console's language, as its other errors (a tester read both at once).
          error.textContent = config.lang === "en" && en ? en : zh;
          error.hidden = false;
          const culprit = problem && form.querySelector(`[name="${problem.field}"]`);
          if (culprit) {
            culprit.setAttribute("aria-invalid", "true");
            culprit.focus();
          }
          return;
        }
        state.drafts.delete(ticket.number);
        if (data.note) appendNote(data.note);
        const fresh = ticketRow(data.ticket);
        row.replaceWith(fresh);
        const again = fresh.querySelector("[data-testid=visit-saved]");
        if (again) {
          again.hidden = false;
          fresh.querySelector("[data-testid=visit-edit]").open = true;
        }
      } catch (failure) {
        error.textContent = fmt(S.error, { message: failure.message || failure });
        error.hidden = false;
      } finally {
        save.disabled = false;
      }
    });
    box.append(form);
    return box;
  }

  async function loadSidebar(publicId) {
    const body = $("sidebar-body");
    const data = await api("GET", `/conversations/${publicId}/customer`).catch(showError);
    if (!data || !state.current || state.current.public_id !== publicId) return;
    body.replaceChildren();
    if (data.customer) {
      const c = data.customer;
      const facts = el("dl", "facts", { "data-testid": "side-customer" });
      const add = (k, v) => facts.append(el("dt", "", {}, k), el("dd", "", {}, v));
      add(S.name, c.name || "—");
      add(S.phone, c.phone);
      add(S.tier, c.tier === "vip" ? "VIP" : S.tier_normal);
      for (const address of c.addresses) add(S.address, address);
      body.append(facts);
      const phone = root.querySelector("[data-testid=ticket-phone]");
      // A masked number (138****8000: a chat this agent does not hold) is no use to a form.
      if (!phone.value && !c.phone.includes("*")) phone.value = c.phone;
      const name = root.querySelector("[data-testid=ticket-name]");
      if (!name.value) name.value = c.name;
    } else {
      body.append(el("p", "muted", { "data-testid": "side-unknown" }, S.customer_unknown));
    }
    body.append(
      section(S.assets, "side-assets", data.assets.map((a) => {
        const row = el("li");
        row.append(el("strong", "", {}, a.model_name), el("span", "muted small", {}, ` ${a.serial_number} `), el("span", "badge " + (a.in_warranty ? "ok" : "muted"), {}, a.in_warranty ? S.in_warranty : S.out_of_warranty));
        return row;
      })),
      section(S.open_tickets, "side-open", data.open_tickets.map(ticketRow)),
      section(S.past_tickets, "side-past", data.past_tickets.map(ticketRow)),
      section(S.conversations, "side-conversations", data.conversations.map((c) => {
        const row = el("li");
        const link = el("a", "", { href: "#" }, `${S["channel_" + c.channel] || c.channel} ${clock(c.last_message_at)}`);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          open(c.public_id);
        });
        row.append(link, el("span", "muted small", {}, ` ${S["state_" + c.state] || c.state}${c.csat_score ? " · " + c.csat_score + "★" : ""}`));
        return row;
      })),
    );
  }

  // ------------------------------------------------------------------ actions

  function sendTyping(on) {
    if (!state.current || !isMine(state.current)) return;
    if (state.typingSent === on) return;
    state.typingSent = on;
    transmit({ type: "typing", conversation: state.current.public_id, on });
  }

  // The channel takes 2000 characters a message. The box keeps whatever is typed or pasted
  // (a maxlength would cut it without a word); over the limit it says by how much and the
  // reply is not sent until it fits.
  const REPLY_MAX = Number($("composer").dataset.max || 2000);
  function measure() {
    const n = $("composer").value.length;
    const over = n - REPLY_MAX;
    const count = $("composer-count");
    count.dataset.over = over > 0 ? "true" : "false";
    count.hidden = over <= 0;
    count.textContent = over > 0 ? fmt(S.reply_too_long, { n, max: REPLY_MAX, over }) : "";
    $("send").disabled = over > 0;
    return over <= 0;
  }
  $("composer").addEventListener("input", measure);

  $("composer").addEventListener("input", () => {
    sendTyping(true);
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => sendTyping(false), TYPING_IDLE_MS);
  });
  $("composer").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer-form").requestSubmit();
    }
  });

  $("composer-form").addEventListener("submit", guard(async (event) => {
    event.preventDefault();
    const box = $("composer");
    const text = box.value.trim();
    if (!text || !state.current || !measure()) return;
    box.value = "";
    clearTimeout(state.typingTimer);
    sendTyping(false);
    const publicId = state.current.public_id;
    const clientId = "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    if (!transmit({ type: "send", conversation: publicId, text, client_id: clientId })) {
      const message = await api("POST", `/conversations/${publicId}/messages`, { text });
      if (state.current && state.current.public_id === publicId) appendMessage(message);
    }
  }));

  for (const text of config.quickReplies) {
    const chip = el("button", "chip", { type: "button", "data-testid": "quick-reply" }, text);
    chip.addEventListener("click", () => {
      const box = $("composer");
      box.value = box.value ? `${box.value} ${text}` : text;
      box.focus();
    });
    $("quick-replies").append(chip);
  }

  $("kb-form").addEventListener("submit", guard(async (event) => {
    event.preventDefault();
    const q = $("kb-query").value.trim();
    if (!q) return;
    const found = await api("GET", `/kb?q=${encodeURIComponent(q)}&k=5`);
    const list = $("kb-results");
    list.replaceChildren();
    if (!found.available) {
      $("kb-panel").hidden = true;
      return;
    }
    for (const hit of found.items) {
      const row = el("li", "", { "data-testid": "kb-result" });
      const insert = el("button", "small-button ghost", { type: "button", "data-testid": "kb-insert" }, S.insert);
      insert.addEventListener("click", () => {
        // The customer's channel may show no HTML: the agent sends the answer as plain text.
        $("composer").value = hit.answer_text ?? hit.answer;
        measure();
        $("composer").focus();
      });
      const answer = el("div", "small kb-answer", { "data-testid": "kb-answer" });
      // The portal's sanitised rendering of the editors' Markdown, as on the help centre.
      if (typeof hit.answer_html === "string") answer.innerHTML = hit.answer_html;
      else answer.textContent = hit.answer;
      row.append(el("strong", "", {}, hit.question), answer, insert);
      list.append(row);
    }
    if (!found.items.length) list.append(el("li", "muted small", {}, S.none));
  }));

  $("note-form").addEventListener("submit", guard(async (event) => {
    event.preventDefault();
    const input = $("note-input");
    const body = input.value.trim();
    if (!body || !state.current) return;
    const note = await api("POST", `/conversations/${state.current.public_id}/notes`, { body });
    input.value = "";
    appendNote(note);
  }));

  $("transfer-form").addEventListener("submit", guard(async (event) => {
    event.preventDefault();
    const target = $("transfer-target").value;
    if (!target || !state.current) return;
    const [kind, value] = [target.slice(0, target.indexOf(":")), target.slice(target.indexOf(":") + 1)];
    const body = { note: $("transfer-note").value.trim() };
    if (kind === "agent") body.to_agent_id = Number(value);
    else body.to_team = value;
    await api("POST", `/conversations/${state.current.public_id}/transfer`, body);
    $("transfer-note").value = "";
    await refreshCurrent();
  }));

  $("ticket-form").addEventListener("submit", guard(async (event) => {
    event.preventDefault();
    if (!state.current) return;
    const data = {};
    for (const [k, v] of new FormData(event.target).entries()) if (String(v).trim()) data[k] = String(v).trim();
    const made = await api("POST", `/conversations/${state.current.public_id}/tickets`, data);
    const done = $("ticket-created");
    done.textContent = fmt(S.ticket_created, { number: made.number });
    done.dataset.number = made.number;
    done.hidden = false;
    loadSidebar(state.current.public_id);
  }));

  $("accept").addEventListener("click", guard(async () => {
    await api("POST", `/conversations/${state.current.public_id}/accept`);
    await refreshCurrent();
  }));
  $("pickup").addEventListener("click", guard(async () => {
    await api("POST", `/conversations/${state.current.public_id}/pickup`);
    state.live.delete(state.current.public_id);
    renderLive();
    await refreshCurrent();
  }));
  $("decline").addEventListener("click", guard(async () => {
    await api("POST", `/conversations/${state.current.public_id}/decline`);
  }));
  $("handback").addEventListener("click", guard(async () => {
    const publicId = state.current.public_id;
    if (!(await confirmAction("handback"))) return;
    await api("POST", `/conversations/${publicId}/end`);
    await refreshCurrent();
  }));
  $("close-chat").addEventListener("click", guard(async () => {
    const publicId = state.current.public_id;
    if (!(await confirmAction("close"))) return;
    await api("POST", `/conversations/${publicId}/close`);
    await refreshCurrent();
  }));

  $("status").addEventListener("change", () => transmit({ type: "status", status: $("status").value }) || api("POST", "/presence", { status: $("status").value }).catch(showError));

  // ------------------------------------------------------------------ the socket

  function transmit(frame) {
    if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return false;
    state.socket.send(JSON.stringify(frame));
    return true;
  }

  function setConnected(on) {
    root.dataset.connected = on ? "true" : "false";
    $("connection").textContent = on ? "" : S.reconnecting;
  }

  function handle(frame) {
    switch (frame.type) {
      case "hello":
        state.queue = frame.queue;
        state.chats = frame.chats;
        state.live = new Map(frame.live.map((item) => [item.public_id, item]));
        if (frame.agents) state.agents = frame.agents;
        $("status").value = frame.me.status === "away" ? "away" : "online";
        renderQueue();
        renderChats();
        renderLive();
        renderAgents();
        refreshCurrent();
        break;
      case "queue":
        state.queue = frame.items;
        for (const item of frame.items) state.live.delete(item.public_id);
        renderQueue();
        renderLive();
        // A conversation shown while it waits: its new messages come with the queue.
        if (state.current && state.current.state !== "agent") refreshCurrent();
        break;
      case "chats":
        state.chats = frame.items;
        for (const item of frame.items) state.live.delete(item.public_id);
        renderChats();
        renderLive();
        break;
      case "offer":
        break; // the queue frame marks it; nothing else to do
      case "live":
        state.live.set(frame.item.public_id, frame.item);
        renderLive();
        if (state.current && state.current.public_id === frame.item.public_id) refreshCurrent();
        break;
      case "message":
        if (state.current && frame.conversation === state.current.public_id) {
          appendMessage(frame.message);
          if (frame.message.author === "customer") $("customer-typing").hidden = true;
        }
        break;
      case "note":
        if (state.current && frame.conversation === state.current.public_id) appendNote(frame.note);
        break;
      case "typing":
        if (state.current && frame.conversation === state.current.public_id) {
          $("customer-typing").hidden = !frame.on;
          clearTimeout(state.customerTypingTimer);
          if (frame.on) state.customerTypingTimer = setTimeout(() => ($("customer-typing").hidden = true), 15000);
        }
        break;
      case "chat_closed":
        if (state.current && frame.conversation === state.current.public_id) refreshCurrent();
        break;
      case "agents":
        state.agents = frame.items;
        renderAgents();
        break;
      case "escalated":
        notify(fmt(S.escalated_alert, { id: frame.conversation.slice(0, 8), minutes: Math.round(frame.waited_s / 60) }));
        break;
      case "sent":
        if (state.current && frame.message) appendMessage(frame.message);
        break;
      case "error":
        showError(new Error((config.lang === "en" ? frame.message_en : frame.message_zh) || frame.code));
        break;
      default:
        break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/console/ws`);
    state.socket = socket;
    let ping = 0;
    socket.addEventListener("open", () => {
      state.attempt = 0;
      setConnected(true);
      ping = setInterval(() => transmit({ type: "ping" }), PING_MS);
    });
    socket.addEventListener("message", (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (error) {
        console.error(error); // eslint-disable-line no-console
      }
    });
    socket.addEventListener("close", (event) => {
      clearInterval(ping);
      setConnected(false);
      if (event.code === 1008) {
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
      state.attempt += 1;
      setTimeout(connect, Math.min(30000, 500 * 2 ** state.attempt));
    });
  }

  renderQueue();
  renderChats();
  renderLive();
  connect();
})();
