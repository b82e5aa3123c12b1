/*
 * After-sales chat widget. Embed with one tag:
 *   <script src="https://PORTAL/static/widget/widget.js" data-site-key="demo"
 *           data-title="在线客服" data-color="#1677ff" data-position="right"
 *           data-lang="zh" async></script>
 * data-lang ("zh" or "en") is the page's language; without it the page's own <html lang> is
 * read. The widget speaks it and tells the portal (`lang` on the socket URL), so the bot
 * greets and answers in it until the customer writes in the other language.
 * No build step, no dependencies. What a customer or an agent typed is rendered with
 * textContent, never as HTML. A bot or system message comes with `html`, the portal's safe
 * rendering of its Markdown (bold, lists, tables); the widget copies it node by node through
 * an allowlist of tags, so even a broken server could not run script on the host page.
 * Wire protocol: see channels/web/adapter.py.
 */
(() => {
  "use strict";

  // Embedded twice (templates, tag managers): keep the first one.
  if (window.AfterSalesWidget) return;

  const STRINGS = {
    zh: {
      title: "在线客服",
      openChat: "打开在线客服",
      closeChat: "关闭",
      placeholder: "请输入您的问题…",
      send: "发送",
      typing: "正在输入",
      connecting: "正在连接…",
      offline: "连接已断开，正在重新连接…",
      welcome: "您好！请问有什么可以帮您？",
      notSent: "未发送",
      bot: "智能助手",
      agent: "人工客服",
      system: "系统消息",
      image: "图片",
      unread: "条未读消息",
      answering: "正在提交…",
      answerFailed: "提交失败，请稍后再试",
    },
    en: {
      title: "Customer service",
      openChat: "Open customer service chat",
      closeChat: "Close",
      placeholder: "Type your question…",
      send: "Send",
      typing: "Typing",
      connecting: "Connecting…",
      offline: "Connection lost, reconnecting…",
      welcome: "Hello! How can we help you?",
      notSent: "Not sent",
      bot: "Assistant",
      agent: "Agent",
      system: "System",
      image: "Image",
      unread: "unread messages",
      answering: "Sending…",
      answerFailed: "Could not send, please try again",
    },
  };

  const AUTHORS = ["bot", "agent", "system"]; // labelled above their messages
  const MAX_TEXT = 2000;
  const PING_MS = 25000;
  const TYPING_TIMEOUT_MS = 30000;
  // Our own typing, for the agent: "on" again at most this often while typing (the console
  // hides a stale indicator), "off" after this long without a keystroke.
  const TYPING_EVERY_MS = 5000;
  const TYPING_IDLE_MS = 4000;
  const TIME_GAP_MS = 5 * 60 * 1000;

  // Async scripts still have currentScript while they run; the lookup covers odd loaders.
  const script =
    document.currentScript ||
    Array.from(document.querySelectorAll("script[src]")).find((s) =>
      /\/widget\/widget\.js(\?|$)/.test(s.src)
    );
  if (!script) return;

  const scriptUrl = new URL(script.src, document.baseURI);
  const data = script.dataset;
  // The page's language as the tag, else the page itself, declares it; null if neither does
  // (the widget then speaks Chinese and lets the bot go by what the customer writes).
  const pageLang = [data.lang, document.documentElement.lang]
    .map((value) => (value || "").toLowerCase().split("-")[0])
    .find((code) => code === "en" || code === "zh") || null;
  const lang = pageLang || "zh";
  const t = STRINGS[lang];
  const siteKey = data.siteKey || "";
  const title = data.title || t.title;
  const position = data.position === "left" ? "left" : "right";
  const color = data.color && CSS.supports("color", data.color) ? data.color : "";
  const storePrefix = "aftersales." + (siteKey || "default") + ".";

  // localStorage throws in some private modes; the widget still works for this page view.
  const memory = {};
  const store = {
    get(key) {
      try {
        return window.localStorage.getItem(storePrefix + key);
      } catch (_) {
        return memory[key] ?? null;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(storePrefix + key, value);
      } catch (_) {
        memory[key] = value;
      }
    },
  };

  function randomId(prefix, bytes) {
    // getRandomValues works on plain http pages too, unlike crypto.randomUUID.
    const buf = new Uint8Array(bytes);
    crypto.getRandomValues(buf);
    return prefix + Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function visitorId(create) {
    let id = store.get("visitor");
    if (!id && create) {
      id = randomId("v", 16);
      store.set("visitor", id);
    }
    return id;
  }

  // ---- DOM -------------------------------------------------------------------------------

  function el(tag, className, attrs) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  function icon(pathData) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }

  const ICON_CHAT =
    "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  const ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  const ICON_SEND = "M3 11l18-8-8 18-2-8-8-2z";

  // A shadow root keeps the host page's CSS out of the widget and ours out of the page.
  const host = el("div", "", { id: "aftersales-widget" });
  const shadow = host.attachShadow({ mode: "open" });
  const cssUrl = new URL("widget.css", scriptUrl);
  cssUrl.search = scriptUrl.search;
  const link = el("link", "", { rel: "stylesheet", href: cssUrl.href });
  const root = el("div", "as-root as-" + position, { lang: lang === "en" ? "en" : "zh-CN" });
  root.style.visibility = "hidden"; // until the stylesheet is in, so nothing flashes unstyled
  const reveal = () => root.style.removeProperty("visibility");
  link.addEventListener("load", reveal);
  link.addEventListener("error", reveal);
  if (color) root.style.setProperty("--as-color", color);
  shadow.append(link, root);

  const launcher = el("button", "as-launcher", {
    type: "button",
    "data-testid": "aftersales-launcher",
    "aria-label": t.openChat,
    "aria-expanded": "false",
  });
  launcher.appendChild(icon(ICON_CHAT));
  const badge = el("span", "as-badge", { "data-testid": "aftersales-unread", hidden: "" });
  launcher.appendChild(badge);

  const panel = el("section", "as-panel", {
    role: "dialog",
    "aria-label": title,
    "data-testid": "aftersales-panel",
    hidden: "",
  });
  const header = el("header", "as-header");
  const heading = el("h2", "as-title");
  heading.textContent = title;
  const closeButton = el("button", "as-close", {
    type: "button",
    "aria-label": t.closeChat,
    "data-testid": "aftersales-close",
  });
  closeButton.appendChild(icon(ICON_CLOSE));
  header.append(heading, closeButton);

  const statusBar = el("div", "as-status", { role: "status", hidden: "" });
  const log = el("div", "as-log", { role: "log", "aria-live": "polite" });
  const welcome = el("p", "as-welcome");
  welcome.textContent = t.welcome;
  const typing = el("div", "as-typing", {
    "data-testid": "aftersales-typing",
    "aria-label": t.typing,
    hidden: "",
  });
  typing.append(el("span"), el("span"), el("span"));
  log.append(welcome, typing);

  const form = el("form", "as-form");
  const input = el("textarea", "as-input", {
    rows: "1",
    maxlength: String(MAX_TEXT),
    placeholder: t.placeholder,
    "aria-label": t.placeholder,
    "data-testid": "aftersales-input",
  });
  const sendButton = el("button", "as-send", {
    type: "submit",
    "aria-label": t.send,
    title: t.send,
    "data-testid": "aftersales-send",
  });
  sendButton.appendChild(icon(ICON_SEND));
  form.append(input, sendButton);

  panel.append(header, statusBar, log, form);
  root.append(panel, launcher);

  // ---- rendering -------------------------------------------------------------------------

  const seenIds = new Set();
  const pending = new Map(); // client_id -> element of a message not yet echoed back
  let lastTime = 0;
  let lastAuthor = "";
  let unread = 0;
  let typingTimer = 0;

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function formatTime(date) {
    const sameDay = date.toDateString() === new Date().toDateString();
    const options = sameDay
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" };
    return date.toLocaleString(lang === "en" ? "en-US" : "zh-CN", options);
  }

  function clearQuickReplies() {
    for (const row of log.querySelectorAll(".as-quick")) row.remove();
  }

  function renderQuickReplies(buttons) {
    const row = el("div", "as-quick");
    for (const button of buttons) {
      if (!button || typeof button.title !== "string") continue;
      const chip = el("button", "as-chip", {
        type: "button",
        "data-testid": "aftersales-quick-reply",
      });
      chip.textContent = button.title;
      const payload = typeof button.payload === "string" ? button.payload : "";
      chip.addEventListener("click", () => send(button.title, payload || undefined));
      row.appendChild(chip);
    }
    if (row.childElementCount) log.insertBefore(row, typing);
  }

  // What the portal's Markdown rendering produces; anything else is unwrapped to its text.
  const RICH_TAGS = new Set([
    "P", "BR", "STRONG", "EM", "CODE", "PRE", "UL", "OL", "LI", "BLOCKQUOTE", "HR",
    "H1", "H2", "H3", "H4", "H5", "H6", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "A",
  ]);
  const DROPPED_TAGS = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "SVG", "MATH"]);
  const ALIGN = /^text-align:(left|right|center)$/;

  function copyRich(source, target) {
    for (const node of source.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        target.appendChild(document.createTextNode(node.nodeValue));
        continue;
      }
      if (node.nodeType !== Node.ELEMENT_NODE || DROPPED_TAGS.has(node.tagName)) continue;
      if (!RICH_TAGS.has(node.tagName)) {
        copyRich(node, target);
        continue;
      }
      const copy = document.createElement(node.tagName.toLowerCase());
      const style = node.getAttribute("style");
      if ((node.tagName === "TH" || node.tagName === "TD") && style && ALIGN.test(style)) {
        copy.setAttribute("style", style);
      }
      if (node.tagName === "OL" && /^\d{1,6}$/.test(node.getAttribute("start") || "")) {
        copy.setAttribute("start", node.getAttribute("start"));
      }
      if (node.tagName === "A") {
        let href = node.getAttribute("href") || "";
        // The portal's own pages (a quote, a receipt under /my) open on the portal's host.
        if (/^\/my\//.test(href)) href = new URL(href, scriptUrl).href;
        if (/^(https?:|mailto:|tel:)/i.test(href)) {
          copy.setAttribute("href", href);
          copy.setAttribute("target", "_blank");
          copy.setAttribute("rel", "noopener noreferrer nofollow");
        }
      }
      copyRich(node, copy);
      // A wide table scrolls inside the bubble instead of widening the panel.
      if (node.tagName === "TABLE") {
        const wrap = el("div", "as-table");
        wrap.appendChild(copy);
        target.appendChild(wrap);
      } else {
        target.appendChild(copy);
      }
    }
  }

  function fillBubble(bubble, msg) {
    const rich = msg.direction === "out" && typeof msg.html === "string" && msg.html;
    if (!rich) {
      bubble.textContent = typeof msg.text === "string" ? msg.text : "";
      return;
    }
    // An inert document: nothing in it loads or runs while it is read.
    const parsed = new DOMParser().parseFromString(msg.html, "text/html");
    bubble.classList.add("as-rich");
    copyRich(parsed.body, bubble);
  }

  // A quote card's buttons ("quote:accept:<token>", "quote:reject:<token>") answer the quote
  // over HTTP on the portal, inside the card; they are not quick replies sent to the chat.
  const QUOTE_PAYLOAD = /^quote:(accept|reject):([0-9]+\.[0-9a-f]+)$/;

  function isQuoteButton(button) {
    return button && typeof button.payload === "string" && QUOTE_PAYLOAD.test(button.payload);
  }

  function renderQuoteActions(bubble, buttons) {
    const row = el("div", "as-quote-actions", { "data-testid": "aftersales-quote-actions" });
    const result = el("p", "as-quote-result", { role: "status", hidden: "" });
    for (const button of buttons) {
      const [, answer, token] = QUOTE_PAYLOAD.exec(button.payload);
      const action = el("button", "as-quote-" + answer, {
        type: "button",
        "data-testid": "aftersales-quote-" + answer,
      });
      action.textContent = button.title;
      action.addEventListener("click", () => answerQuote(row, result, token, answer));
      row.appendChild(action);
    }
    bubble.append(row, result);
  }

  function postAnswer(fields) {
    return fetch(new URL("/my/quote-answers", scriptUrl).href, {
      method: "POST",
      body: new URLSearchParams(fields),
      credentials: "omit",
    }).then((r) => r.json().then((data) => ({ ok: r.ok, status: r.status, data })));
  }

  function sayAnswer(result, ok, data) {
    const text = lang === "en" ? data.message_en : data.message_zh;
    result.hidden = false;
    result.textContent = typeof text === "string" ? text : t.answerFailed;
    result.dataset.state = ok ? data.status : "error";
  }

  function answerQuote(row, result, token, answer) {
    const actions = Array.from(row.querySelectorAll("button"));
    for (const b of actions) b.disabled = true;
    result.hidden = false;
    result.textContent = t.answering;
    postAnswer({ token, answer })
      .then(({ ok, status, data }) => {
        // Declining is confirmed first, as in /my: the portal answers an unconfirmed
        // decline with what confirming means (what stays due) and the words to ask it.
        if (answer === "reject" && status === 422 && data && data.confirm) {
          confirmDecline(row, result, token, data);
          return;
        }
        sayAnswer(result, ok, data);
        // Answered (now or before, in /my): the buttons go; anything else may be retried.
        if (ok || status === 409 || status === 404) row.remove();
        else for (const b of actions) b.disabled = false;
      })
      .catch(() => {
        result.textContent = t.answerFailed;
        result.dataset.state = "error";
        for (const b of actions) b.disabled = false;
      });
  }

  function confirmDecline(row, result, token, terms) {
    const words = terms.confirm[lang] || terms.confirm.zh;
    const buttons = Array.from(row.querySelectorAll("button"));
    result.hidden = true;
    row.hidden = true;
    const box = el("div", "as-quote-confirm", { "data-testid": "aftersales-quote-confirm" });
    const said = el("p", "as-quote-consequence", {
      "data-testid": "aftersales-quote-consequence",
    });
    said.textContent = words.consequence;
    const label = el("label", "as-quote-reason-label");
    label.textContent = words.reason;
    const reason = el("textarea", "as-quote-reason", {
      rows: "2",
      maxlength: String(terms.reason_max || 200),
      "data-testid": "aftersales-quote-reason",
    });
    label.appendChild(reason);
    const choices = el("div", "as-quote-actions");
    const confirm = el("button", "as-quote-reject", {
      type: "button",
      "data-testid": "aftersales-quote-reject-confirm",
    });
    confirm.textContent = words.confirm;
    const back = el("button", "as-quote-back", {
      type: "button",
      "data-testid": "aftersales-quote-back",
    });
    back.textContent = words.back;
    choices.append(confirm, back);
    box.append(said, label, choices);
    row.parentNode.insertBefore(box, result);
    const controls = [confirm, back, reason];
    back.addEventListener("click", () => {
      box.remove();
      row.hidden = false;
      for (const b of buttons) b.disabled = false;
    });
    confirm.addEventListener("click", () => {
      for (const c of controls) c.disabled = true;
      result.hidden = false;
      result.textContent = t.answering;
      result.removeAttribute("data-state");
      postAnswer({ token, answer: "reject", confirm: "yes", reason: reason.value })
        .then(({ ok, status, data }) => {
          sayAnswer(result, ok, data);
          if (ok || status === 409 || status === 404) {
            box.remove();
            row.remove();
          } else for (const c of controls) c.disabled = false;
        })
        .catch(() => {
          result.textContent = t.answerFailed;
          result.dataset.state = "error";
          for (const c of controls) c.disabled = false;
        });
    });
    reason.focus();
  }

  function renderMessage(msg) {
    const direction = msg.direction === "in" ? "in" : "out";
    const fallback = direction === "in" ? "customer" : "bot";
    const author = typeof msg.author === "string" ? msg.author : fallback;
    const created = msg.created_at ? new Date(msg.created_at) : null;
    if (created && !isNaN(created) && created - lastTime > TIME_GAP_MS) {
      const stamp = el("div", "as-time");
      stamp.textContent = formatTime(created);
      log.insertBefore(stamp, typing);
      lastTime = created.getTime();
      lastAuthor = "";
    }
    const row = el("div", "as-msg as-" + direction, {
      "data-testid": "aftersales-message",
      "data-direction": direction,
      "data-author": author,
    });
    if (msg.id != null) row.dataset.id = String(msg.id);
    if (msg.local) row.classList.add("as-pending");
    // The label sits outside the message element, whose text is then only the message.
    if (direction === "out" && author !== lastAuthor && AUTHORS.includes(author)) {
      const label = el("div", "as-author");
      label.textContent = t[author];
      log.insertBefore(label, typing);
    }
    lastAuthor = direction === "out" ? author : "";
    const bubble = el("div", "as-bubble");
    fillBubble(bubble, msg);
    if (created && !isNaN(created)) bubble.title = formatTime(created);
    if (typeof msg.image_url === "string" && /^https?:\/\//i.test(msg.image_url)) {
      const img = el("img", "as-image", { alt: t.image, loading: "lazy" });
      img.src = msg.image_url;
      bubble.appendChild(img);
    }
    const buttons = direction === "out" && Array.isArray(msg.buttons) ? msg.buttons : [];
    const quoteButtons = buttons.filter(isQuoteButton);
    if (quoteButtons.length) {
      bubble.classList.add("as-quote");
      row.dataset.kind = "quote";
      renderQuoteActions(bubble, quoteButtons);
    }
    row.appendChild(bubble);
    // The choices of a turn stay until the customer answers: every bot message of the turn
    // keeps its buttons (an FAQ's suggestions inside a form, then the form's question).
    if (direction === "in") clearQuickReplies();
    log.insertBefore(row, typing);
    welcome.hidden = true;
    const replies = buttons.filter((b) => !isQuoteButton(b));
    if (replies.length) renderQuickReplies(replies);
    return row;
  }

  function renderHistory(messages) {
    for (const node of Array.from(log.children)) {
      if (node !== welcome && node !== typing) node.remove();
    }
    seenIds.clear();
    pending.clear();
    lastTime = 0;
    lastAuthor = "";
    welcome.hidden = false;
    for (const msg of messages) {
      if (msg.id != null) seenIds.add(msg.id);
      renderMessage(msg);
    }
    scrollToBottom();
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    const stick = nearBottom();
    typing.hidden = !on;
    // A lost "off" frame must not leave the dots running forever.
    if (on) typingTimer = setTimeout(() => (typing.hidden = true), TYPING_TIMEOUT_MS);
    if (stick) scrollToBottom();
  }

  function showNotice(text) {
    const notice = el("div", "as-notice", { "data-testid": "aftersales-notice" });
    notice.textContent = text;
    log.insertBefore(notice, typing);
    scrollToBottom();
  }

  function setUnread(count) {
    unread = count;
    badge.hidden = count === 0;
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.setAttribute("aria-label", count + " " + t.unread);
  }

  function receiveMessage(msg) {
    if (msg.id != null) {
      if (seenIds.has(msg.id)) return;
      seenIds.add(msg.id);
    }
    const mine = msg.direction === "in" && msg.client_id && pending.get(msg.client_id);
    if (mine) {
      // Our own message echoed back: it is stored now.
      mine.classList.remove("as-pending");
      if (msg.id != null) mine.dataset.id = String(msg.id);
      pending.delete(msg.client_id);
      return;
    }
    const stick = nearBottom();
    renderMessage(msg);
    if (msg.direction === "out") {
      showTyping(false);
      if (!isOpen()) setUnread(unread + 1);
    }
    if (stick) scrollToBottom();
  }

  // ---- connection ------------------------------------------------------------------------

  let socket = null;
  let ready = false; // open and history rendered: frames sent now will not be wiped
  let attempt = 0;
  let retryTimer = 0;
  let pingTimer = 0;
  const outbox = []; // {client_id, text, payload} typed while not ready

  function socketUrl(visitor) {
    const url = new URL("/channels/web/ws", scriptUrl);
    url.protocol = scriptUrl.protocol === "https:" ? "wss:" : "ws:";
    url.search = "";
    if (siteKey) url.searchParams.set("site_key", siteKey);
    url.searchParams.set("visitor_id", visitor);
    if (pageLang) url.searchParams.set("lang", pageLang);
    return url.href;
  }

  function setStatus(state) {
    statusBar.hidden = state === "online";
    statusBar.textContent = state === "connecting" ? t.connecting : t.offline;
    statusBar.dataset.state = state;
  }

  function connect() {
    if (socket) return;
    clearTimeout(retryTimer);
    const sock = new WebSocket(socketUrl(visitorId(true)));
    socket = sock;
    ready = false;
    setStatus(attempt === 0 ? "connecting" : "offline");
    sock.addEventListener("message", (event) => {
      if (socket === sock) handleFrame(event.data);
    });
    sock.addEventListener("close", () => {
      if (socket !== sock) return;
      socket = null;
      ready = false;
      typingOn = false;
      clearTimeout(typingIdle);
      clearInterval(pingTimer);
      showTyping(false);
      setStatus("offline");
      scheduleRetry();
    });
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    // Exponential backoff with jitter so a portal restart is not hit by every tab at once.
    const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    retryTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (socket || !visitorId(false)) return;
    attempt = 0;
    connect();
  }

  let typingOn = false;
  let typingSentAt = 0;
  let typingIdle = 0;

  function sendTyping(on) {
    if (!ready || !socket) return;
    typingOn = on;
    typingSentAt = Date.now();
    socket.send(JSON.stringify({ type: "typing", on }));
  }

  function typed() {
    clearTimeout(typingIdle);
    if (!input.value.trim()) {
      stopTyping();
      return;
    }
    if (!typingOn || Date.now() - typingSentAt > TYPING_EVERY_MS) sendTyping(true);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingOn) sendTyping(false);
    typingOn = false;
  }

  function transmit(item) {
    const frame = { type: "message", text: item.text, client_id: item.client_id };
    if (item.payload) frame.payload = item.payload;
    socket.send(JSON.stringify(frame));
  }

  function handleFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch (_) {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "history") {
      renderHistory(Array.isArray(frame.messages) ? frame.messages : []);
      ready = true;
      attempt = 0;
      setStatus("online");
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (ready) socket.send('{"type":"ping"}');
      }, PING_MS);
      for (const item of outbox.splice(0)) {
        pending.set(item.client_id, renderPending(item));
        transmit(item);
      }
      scrollToBottom();
    } else if (frame.type === "message") {
      receiveMessage(frame);
    } else if (frame.type === "typing") {
      showTyping(frame.on === true);
    } else if (frame.type === "error") {
      const failed = frame.client_id && pending.get(frame.client_id);
      if (failed) {
        failed.classList.remove("as-pending");
        failed.classList.add("as-failed");
        failed.dataset.failed = t.notSent;
        pending.delete(frame.client_id);
      }
      const text = lang === "en" ? frame.message_en : frame.message_zh;
      if (typeof text === "string") showNotice(text);
    }
  }

  function localMessage(text) {
    // Stamped with the local time so the time divider lands above it, not after it.
    const created_at = new Date().toISOString();
    return { direction: "in", author: "customer", text, created_at, local: true };
  }

  function renderPending(item) {
    const row = renderMessage(localMessage(item.text));
    row.dataset.clientId = item.client_id;
    scrollToBottom();
    return row;
  }

  // ---- actions ---------------------------------------------------------------------------

  function send(text, payload) {
    if (typeof text !== "string") return false;
    const clean = text.trim();
    if (!clean || clean.length > MAX_TEXT) return false;
    const item = { client_id: randomId("c", 8), text: clean, payload };
    stopTyping();
    clearQuickReplies();
    if (ready) {
      pending.set(item.client_id, renderPending(item));
      transmit(item);
    } else {
      // Shown now; the history re-render on connect drops this row and shows it again from
      // the outbox, right before it is sent.
      outbox.push(item);
      renderMessage(localMessage(clean));
      scrollToBottom();
      connect();
    }
    return true;
  }

  function isOpen() {
    return !panel.hidden;
  }

  function open(focus = true) {
    panel.hidden = false;
    root.classList.add("as-open");
    launcher.setAttribute("aria-expanded", "true");
    store.set("open", "1");
    setUnread(0);
    connect();
    scrollToBottom();
    if (focus) input.focus();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("as-open");
    launcher.setAttribute("aria-expanded", "false");
    store.set("open", "0");
    launcher.focus();
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  launcher.addEventListener("click", () => (isOpen() ? close() : open()));
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  input.addEventListener("input", () => {
    autosize();
    typed();
  });
  input.addEventListener("keydown", (event) => {
    // Enter confirms a Chinese IME candidate; only a bare Enter outside composition sends.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (send(input.value)) {
      input.value = "";
      autosize();
    }
    input.focus();
  });
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectNow();
  });

  // Phones: the open chat takes the whole screen, so a new page never opens with it (the
  // page's own actions come first), and the closed launcher steps aside while the page
  // scrolls down (it would sit on the page's buttons), back on scrolling up or at either end.
  const phone = window.matchMedia("(max-width: 480px)");
  let lastY = window.scrollY;
  window.addEventListener(
    "scroll",
    () => {
      const y = window.scrollY;
      const atEnd = window.innerHeight + y >= document.documentElement.scrollHeight - 4;
      const down = y > lastY + 2;
      const up = y < lastY - 2;
      if (!phone.matches || y <= 40 || atEnd || up) root.classList.remove("as-tucked");
      else if (down && !isOpen()) root.classList.add("as-tucked");
      lastY = y;
    },
    { passive: true }
  );
  // It steps aside too while one of the page's own fields has focus: the keyboard is up and
  // the field may sit right under it. (A field inside the chat has the host as its target.)
  const pageField = (target) =>
    target !== host && target instanceof Element && target.matches("input, textarea, select");
  document.addEventListener("focusin", (event) => {
    if (phone.matches && !isOpen() && pageField(event.target)) root.classList.add("as-tucked");
  });
  document.addEventListener("focusout", (event) => {
    if (pageField(event.target)) root.classList.remove("as-tucked");
  });

  function mount() {
    document.body.appendChild(host);
    // A returning visitor gets a socket at once, so agent replies arrive while it is closed.
    if (store.get("open") === "1" && !phone.matches) open(false);
    else if (visitorId(false)) connect();
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.AfterSalesWidget = Object.freeze({
    open: () => open(),
    close,
    send: (text) => send(text),
  });
})();
