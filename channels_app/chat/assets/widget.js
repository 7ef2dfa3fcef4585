/* Live chat widget. One script tag adds a launcher and a chat window in a shadow DOM.
   Protocol: docs/websocket-chat.md. Everything typed by people is shown with textContent. */
(function () {
  "use strict";
  var CONFIG = __CHAT_CONFIG__;
  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src]");
    for (var i = 0; i < all.length; i++) {
      if (all[i].src.indexOf("/widget/" + CONFIG.key + ".js") !== -1) return all[i];
    }
    return null;
  })();
  if (!script || window["__ccChat_" + CONFIG.key]) return;
  window["__ccChat_" + CONFIG.key] = true;

  var BASE = new URL(script.src, location.href);
  var ORIGIN = BASE.origin;
  var WS_URL = (BASE.protocol === "https:" ? "wss://" : "ws://") + BASE.host + "/ws/chat/" + CONFIG.key + "/";
  var LANG = /^zh/i.test(navigator.language || "") ? "zh" : "en";
  var T = CONFIG.strings[LANG];
  var STORE = "ccChat:" + CONFIG.key;
  var RESEND_MS = 4000;

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, k) { return values[k] == null ? "" : String(values[k]); });
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state.saved)); } catch (e) { /* private mode: no resume */ }
  }
  function newId() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function time(iso) {
    var d = iso ? new Date(iso) : new Date();
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  var state = {
    saved: load(),            // {token, pending: [{client_id, text, attachments}]}
    socket: null,
    ready: false,
    open: true,               // live chat available
    reason: "",
    conversation: false,
    ended: false,
    agent: "",
    seen: {},                 // message id → true
    byClient: {},             // client id → bubble
    retry: 0,
    unread: 0,
    lastTyping: 0,
    visitor: {}
  };
  state.saved.pending = state.saved.pending || [];

  // ---- DOM -------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-chat-widget", CONFIG.key);
  host.style.cssText = "all: initial; position: fixed; z-index: 2147483000; bottom: 0; right: 0;";
  var root = host.attachShadow({ mode: "open" });
  var c = CONFIG.colour || "#2563eb";
  var style = el("style");
  style.textContent = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI','PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC',sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;background:" + c + ";color:#fff;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".launcher:focus-visible{outline:3px solid #fff;outline-offset:-6px}",
    ".launcher svg{width:28px;height:28px;fill:#fff}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px;display:none}",
    ".window{position:fixed;right:20px;bottom:92px;width:370px;height:min(600px,calc(100vh - 112px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);display:none;flex-direction:column;overflow:hidden;color:#1f2937;font-size:14px;line-height:1.45}",
    ".window.shown{display:flex}",
    ".head{background:" + c + ";color:#fff;padding:14px 16px;display:flex;align-items:center;gap:10px}",
    ".avatar{width:36px;height:36px;border-radius:50%;background:rgba(255,255,255,.25);display:flex;align-items:center;justify-content:center;font-weight:600;flex:none}",
    ".head-text{flex:1;min-width:0}",
    ".title{font-weight:600;font-size:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".subtitle{font-size:12px;opacity:.9;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".icon-btn{background:transparent;border:0;color:#fff;cursor:pointer;padding:6px;border-radius:6px;font-size:18px;line-height:1}",
    ".icon-btn:hover{background:rgba(255,255,255,.18)}",
    ".body{flex:1;overflow-y:auto;padding:14px;background:#f6f7f9;display:flex;flex-direction:column;gap:8px}",
    ".notice{align-self:center;font-size:12px;color:#6b7280;text-align:center;padding:2px 8px;max-width:90%}",
    ".queue{background:#fff7e6;color:#92400e;border:1px solid #fde68a;border-radius:10px;padding:8px 10px;font-size:13px;text-align:center}",
    ".msg{max-width:80%;display:flex;flex-direction:column}",
    ".msg.me{align-self:flex-end;align-items:flex-end}",
    ".msg.them{align-self:flex-start;align-items:flex-start}",
    ".bubble{padding:8px 12px;border-radius:14px;white-space:pre-wrap;word-break:break-word;overflow-wrap:anywhere}",
    ".me .bubble{background:" + c + ";color:#fff;border-bottom-right-radius:4px}",
    ".them .bubble{background:#fff;color:#1f2937;border:1px solid #e5e7eb;border-bottom-left-radius:4px}",
    ".meta{font-size:11px;color:#9ca3af;margin-top:2px}",
    ".msg.pending .meta{color:#d97706}",
    ".file{display:block;margin-top:6px;color:inherit;text-decoration:underline;word-break:break-all}",
    ".file img{max-width:200px;max-height:160px;border-radius:8px;display:block}",
    ".typing{font-size:12px;color:#6b7280;padding:0 16px 4px;min-height:18px;background:#f6f7f9}",
    ".foot{border-top:1px solid #e5e7eb;padding:8px;display:flex;gap:6px;align-items:flex-end;background:#fff}",
    "textarea,input{width:100%;border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;font-size:14px;color:#111827;background:#fff;resize:none}",
    "textarea:focus,input:focus{outline:2px solid " + c + ";outline-offset:-1px;border-color:transparent}",
    ".foot textarea{height:40px;max-height:120px}",
    ".send{background:" + c + ";color:#fff;border:0;border-radius:8px;padding:0 14px;height:40px;cursor:pointer;font-size:14px;white-space:nowrap}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".attach{background:#f3f4f6;border:0;border-radius:8px;width:40px;height:40px;cursor:pointer;color:#4b5563;flex:none;display:flex;align-items:center;justify-content:center}",
    ".form{padding:16px;display:flex;flex-direction:column;gap:10px;overflow-y:auto;flex:1}",
    ".form label{font-size:12px;color:#4b5563;display:flex;flex-direction:column;gap:4px}",
    ".form .send{height:42px}",
    ".form .error,.error{color:#b91c1c;font-size:12px}",
    ".greeting{background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:10px 12px;color:#374151}",
    ".suggest{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:8px 10px;font-size:13px}",
    ".suggest a{display:block;color:" + c + ";margin-top:4px}",
    ".suggest small{display:block;color:#6b7280}",
    ".menu{display:flex;gap:6px;padding:6px 10px;border-top:1px solid #f3f4f6;background:#fff;font-size:12px}",
    ".link{background:none;border:0;color:#4b5563;cursor:pointer;text-decoration:underline;font-size:12px;padding:2px}",
    ".status{font-size:12px;color:#92400e;background:#fffbeb;text-align:center;padding:4px;display:none}",
    "[hidden]{display:none!important}",
    "@media (max-width:480px){.window{right:0;bottom:0;width:100vw;height:100vh;height:100dvh;border-radius:0}.window.shown~.launcher{display:none}}"
  ].join("\n");
  root.appendChild(style);

  var win = el("div", "window");
  win.setAttribute("role", "dialog");
  win.setAttribute("aria-label", CONFIG.title[LANG] || T.title);
  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", T.open);
  var ICON_CHAT = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
  var ICON_DOWN = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.4 8.6L12 14.2l5.6-5.6L19 10l-7 7-7-7z"/></svg>';
  var launcherIcon = el("span");
  launcherIcon.style.display = "flex";
  launcherIcon.innerHTML = ICON_CHAT;
  launcher.appendChild(launcherIcon);
  var badge = el("span", "badge");
  launcher.appendChild(badge);

  var head = el("div", "head");
  var avatar = el("div", "avatar", "?");
  var headText = el("div", "head-text");
  var title = el("div", "title", CONFIG.title[LANG] || T.title);
  var subtitle = el("div", "subtitle", "");
  headText.appendChild(title);
  headText.appendChild(subtitle);
  var closeBtn = el("button", "icon-btn", "\u2715");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", T.close);
  head.appendChild(avatar);
  head.appendChild(headText);
  head.appendChild(closeBtn);

  var statusBar = el("div", "status", T.reconnecting);
  var body = el("div", "body");
  body.setAttribute("aria-live", "polite");
  var typing = el("div", "typing", "");
  var foot = el("div", "foot");
  var fileInput = el("input");
  fileInput.type = "file";
  fileInput.hidden = true;
  fileInput.accept = CONFIG.upload_types.join(",");
  var attachBtn = el("button", "attach");
  attachBtn.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5"/></svg>';
  attachBtn.type = "button";
  attachBtn.title = T.attach;
  attachBtn.setAttribute("aria-label", T.attach);
  var input = el("textarea");
  input.placeholder = T.placeholder;
  input.maxLength = CONFIG.max_text;
  input.rows = 1;
  var sendBtn = el("button", "send", T.send);
  sendBtn.type = "button";
  foot.appendChild(fileInput);
  foot.appendChild(attachBtn);
  foot.appendChild(input);
  foot.appendChild(sendBtn);
  var menu = el("div", "menu");
  var transcriptBtn = el("button", "link", T.transcript);
  transcriptBtn.type = "button";
  menu.appendChild(transcriptBtn);
  var form = el("div", "form");
  form.hidden = true;

  win.appendChild(head);
  win.appendChild(statusBar);
  win.appendChild(body);
  win.appendChild(form);
  win.appendChild(typing);
  win.appendChild(foot);
  win.appendChild(menu);
  root.appendChild(win);
  root.appendChild(launcher);

  function greetingText() { return CONFIG.greeting[LANG] || T.greeting; }
  var greeting = el("div", "greeting", greetingText());
  body.appendChild(greeting);
  var queueBox = el("div", "queue");
  queueBox.hidden = true;
  var suggestBox = el("div", "suggest");
  suggestBox.hidden = true;

  function scrollDown() { body.scrollTop = body.scrollHeight; }
  function setSubtitle() {
    if (state.agent) {
      subtitle.textContent = state.agent;
      avatar.textContent = state.agent.charAt(0).toUpperCase();
    } else {
      subtitle.textContent = "";
      avatar.textContent = (CONFIG.title[LANG] || T.title).charAt(0);
    }
  }
  setSubtitle();

  function toggle(show) {
    var shown = show == null ? !win.classList.contains("shown") : show;
    win.classList.toggle("shown", shown);
    launcher.setAttribute("aria-label", shown ? T.close : T.open);
    launcherIcon.innerHTML = shown ? ICON_DOWN : ICON_CHAT;
    if (shown) {
      state.unread = 0;
      badge.style.display = "none";
      state.saved.opened = true;
      save();
      connect();
      setTimeout(function () { (form.hidden ? input : (form.querySelector("input,textarea") || input)).focus(); scrollDown(); }, 30);
    } else {
      state.saved.opened = false;
      save();
    }
  }
  launcher.addEventListener("click", function () { toggle(); });
  closeBtn.addEventListener("click", function () { toggle(false); });

  // ---- messages ---------------------------------------------------------------------------
  function notice(text) {
    var n = el("div", "notice", text);
    body.appendChild(n);
    scrollDown();
    return n;
  }

  function renderAttachments(bubble, attachments) {
    (attachments || []).forEach(function (a) {
      var link = el("a", "file");
      link.href = new URL(a.url, ORIGIN).href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      if (/^image\//.test(a.content_type)) {
        var img = el("img");
        img.src = link.href;
        img.alt = a.name;
        link.appendChild(img);
      } else {
        link.textContent = a.name;
      }
      bubble.appendChild(link);
    });
  }

  function bubbleFor(m) {
    var mine = m.from === "visitor";
    var box = el("div", "msg " + (mine ? "me" : "them"));
    var bubble = el("div", "bubble");
    if (m.text) bubble.appendChild(document.createTextNode(m.text));
    renderAttachments(bubble, m.attachments);
    var meta = el("div", "meta", (mine ? "" : (m.name || T.agent) + " · ") + time(m.at));
    box.appendChild(bubble);
    box.appendChild(meta);
    return box;
  }

  function showMessage(m) {
    if (m.id && state.seen[m.id]) return;
    var existing = m.client_id && m.from === "visitor" ? state.byClient[m.client_id] : null;
    var box = bubbleFor(m);
    if (existing) {
      existing.replaceWith(box);
    } else {
      body.insertBefore(box, typing.parentNode === body ? typing : null);
      if (m.from === "agent" && !win.classList.contains("shown")) {
        state.unread += 1;
        badge.textContent = String(state.unread);
        badge.style.display = "block";
      }
    }
    if (m.from === "agent") typing.textContent = "";
    if (m.from === "agent" && m.name && m.name !== state.agent) {
      state.agent = m.name;  // whoever answers is the agent the visitor talks to
      setSubtitle();
      queueBox.hidden = true;
    }
    if (m.client_id && m.from === "visitor") state.byClient[m.client_id] = box;
    if (m.id) state.seen[m.id] = true;
    if (m.from === "agent" && m.id) send({ type: "delivered", ids: [m.id] });
    scrollDown();
  }

  function showPending(p) {
    if (state.byClient[p.client_id]) return;
    var box = bubbleFor({ from: "visitor", text: p.text, attachments: p.preview || [], at: null });
    box.classList.add("pending");
    box.querySelector(".meta").textContent = T.sending;
    state.byClient[p.client_id] = box;
    body.appendChild(box);
    scrollDown();
  }

  // ---- socket -----------------------------------------------------------------------------
  function send(frame) {
    if (state.socket && state.socket.readyState === 1 && state.ready) {
      state.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function connect() {
    if (state.socket && state.socket.readyState <= 1) return;
    var ws = new WebSocket(WS_URL);
    state.socket = ws;
    state.ready = false;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: state.saved.token || null, language: LANG }));
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    ws.onclose = function () {
      state.ready = false;
      if (state.socket !== ws) return;
      statusBar.style.display = "block";
      var delay = Math.min(15000, 1000 * Math.pow(2, state.retry++));
      setTimeout(connect, delay);
    };
  }

  function resendPending() {
    state.saved.pending.forEach(function (p) {
      showPending(p);
      send({ type: "message", client_id: p.client_id, text: p.text, attachments: p.attachments || [] });
    });
  }
  setInterval(function () {
    if (state.saved.pending.length) {
      state.saved.pending.forEach(function (p) {
        var box = state.byClient[p.client_id];
        if (box && Date.now() - (p.at || 0) > RESEND_MS) box.querySelector(".meta").textContent = T.failed;
      });
      resendPending();
    }
  }, RESEND_MS);

  function handle(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(frame);
      case "ack": return onAck(frame);
      case "message": return showMessage(frame);
      case "queue": return showQueue(frame);
      case "agent.joined":
        state.agent = frame.name || "";
        setSubtitle();
        queueBox.hidden = true;
        notice(fmt(T.agent_joined, { name: state.agent }));
        return;
      case "typing":
        typing.textContent = fmt(T.typing, { name: frame.name || T.agent });
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000);
        return;
      case "ended":
        state.ended = true;
        queueBox.hidden = true;
        notice(T.ended);
        return;
      case "availability":
        state.open = frame.open;
        state.reason = frame.reason;
        if (!state.conversation) showStart();
        return;
      case "suggestions": return showSuggestions(frame.articles || []);
      case "transcript.queued":
        notice(fmt(T.transcript_sent, { email: frame.email }));
        return;
      case "error": return onError(frame);
      default: return;
    }
  }

  function onWelcome(frame) {
    state.ready = true;
    state.retry = 0;
    statusBar.style.display = "none";
    state.saved.token = frame.token;
    save();
    state.visitor = frame.visitor || {};
    state.open = frame.open;
    state.reason = frame.reason;
    var conv = frame.conversation;
    if (conv) {
      state.conversation = true;
      state.ended = conv.ended;
      state.agent = conv.agent || "";
      setSubtitle();
      (conv.history || []).forEach(showMessage);
      if (conv.queue && !conv.agent) showQueue(conv.queue);
      if (conv.ended) notice(T.ended);
      showChat();
    } else if (state.saved.pending.length) {
      showChat();
    } else {
      showStart();
    }
    resendPending();
  }

  function onAck(frame) {
    state.saved.pending = state.saved.pending.filter(function (p) { return p.client_id !== frame.client_id; });
    save();
    if (!state.conversation) {
      state.conversation = true;
      showChat();
    }
    state.ended = false;
    if (frame.message) showMessage(frame.message);
  }

  function onError(frame) {
    if (frame.code === "rate_limited") return;  // still pending: resent by the timer
    if (frame.client_id) {
      // the server refused this message for good (too long, bad file): show why, stop resending
      state.saved.pending = state.saved.pending.filter(function (p) { return p.client_id !== frame.client_id; });
      save();
      var box = state.byClient[frame.client_id];
      if (box) {
        box.querySelector(".meta").textContent = frame.message;
        box.classList.add("pending");
      }
      return;
    }
    notice(frame.message || T.error);
  }

  function showQueue(q) {
    if (state.agent) return;
    var parts = [fmt(T.queue, { position: q.position })];
    if (q.wait_seconds != null) {
      parts.push(q.wait_seconds < 60 ? T.wait_soon : fmt(T.wait, { minutes: Math.round(q.wait_seconds / 60) }));
    }
    queueBox.textContent = parts.join(" ");
    queueBox.hidden = false;
    if (queueBox.parentNode !== body) body.insertBefore(queueBox, greeting.nextSibling);
  }

  function showSuggestions(articles) {
    suggestBox.textContent = "";
    if (!articles.length || state.conversation) { suggestBox.hidden = true; return; }
    suggestBox.appendChild(el("div", null, T.suggestions));
    articles.forEach(function (a) {
      var link = el("a", null, a.title);
      try { link.href = new URL(a.url, ORIGIN).href; } catch (e) { return; }
      if (!/^https?:/.test(link.protocol)) return;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      suggestBox.appendChild(link);
      if (a.snippet) suggestBox.appendChild(el("small", null, a.snippet));
    });
    suggestBox.hidden = false;
    var target = form.hidden ? body : form;
    target.appendChild(suggestBox);
  }

  // ---- views: pre-chat form, chat, offline message form --------------------------------------
  function field(name, label, type, required) {
    var wrap = el("label", null, label + (required ? " *" : ""));
    var control = type === "textarea" ? el("textarea") : el("input");
    if (type !== "textarea") control.type = type;
    else control.rows = 3;
    control.name = name;
    if (required) control.required = true;
    if (state.visitor[name]) control.value = state.visitor[name];
    wrap.appendChild(control);
    return wrap;
  }

  function showChat() {
    form.hidden = true;
    foot.hidden = false;
    menu.hidden = false;
    body.hidden = false;
    typing.hidden = false;
  }

  function showStart() {
    if (state.conversation) return showChat();
    if (!state.open) return showOffline();
    var fields = CONFIG.fields || [];
    if (!fields.length) return showChat();
    form.textContent = "";
    form.hidden = false;
    foot.hidden = true;
    menu.hidden = true;
    typing.hidden = true;
    body.hidden = true;
    form.appendChild(el("div", "greeting", greetingText()));
    var wantContact = fields.indexOf("email") !== -1 && fields.indexOf("phone") !== -1;
    if (fields.indexOf("name") !== -1) form.appendChild(field("name", T.name, "text", false));
    if (fields.indexOf("email") !== -1) form.appendChild(field("email", T.email, "email", !wantContact));
    if (fields.indexOf("phone") !== -1) form.appendChild(field("phone", T.phone, "tel", !wantContact));
    var question = fields.indexOf("question") !== -1 ? field("question", T.question, "textarea", true) : null;
    if (question) {
      form.appendChild(question);
      question.querySelector("textarea").addEventListener("input", function (e) { typed(e.target.value); });
    }
    var error = el("div", "error", "");
    form.appendChild(error);
    var start = el("button", "send", T.start);
    start.type = "button";
    form.appendChild(start);
    start.addEventListener("click", function () {
      var values = {};
      form.querySelectorAll("input,textarea").forEach(function (c) { values[c.name] = c.value.trim(); });
      if (wantContact && !values.email && !values.phone) { error.textContent = T.email_or_phone; return; }
      var missing = Array.prototype.filter.call(form.querySelectorAll("[required]"), function (c) { return !c.value.trim(); });
      if (missing.length) { missing[0].focus(); return; }
      if (!state.ready) { error.textContent = T.reconnecting; return; }
      error.textContent = "";
      state.pendingProfile = { type: "profile", name: values.name || "", email: values.email || "", phone: values.phone || "" };
      send(state.pendingProfile);
      suggestBox.hidden = true;
      showChat();
      if (values.question) queueMessage(values.question, []);
    });
  }

  function showOffline() {
    form.textContent = "";
    form.hidden = false;
    foot.hidden = true;
    menu.hidden = true;
    typing.hidden = true;
    body.hidden = true;
    form.appendChild(el("div", "greeting", state.reason === "closed" ? T.offline_closed : T.offline_no_agent));
    form.appendChild(field("name", T.name, "text", false));
    form.appendChild(field("email", T.email, "email", true));
    form.appendChild(field("text", T.message, "textarea", true));
    var error = el("div", "error", "");
    form.appendChild(error);
    var submit = el("button", "send", T.offline_send);
    submit.type = "button";
    form.appendChild(submit);
    var clientId = newId();
    submit.addEventListener("click", function () {
      var data = new FormData();
      var missing = null;
      form.querySelectorAll("input,textarea").forEach(function (c) {
        data.append(c.name, c.value.trim());
        if (c.required && !c.value.trim() && !missing) missing = c;
      });
      if (missing) { missing.focus(); return; }
      data.append("token", state.saved.token || "");
      data.append("client_id", clientId);
      data.append("language", LANG);
      submit.disabled = true;
      fetch(ORIGIN + "/widget/" + CONFIG.key + "/offline/", { method: "POST", body: data, credentials: "omit" })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          submit.disabled = false;
          if (!res.ok) { error.textContent = res.body.detail || T.error; return; }
          form.textContent = "";
          form.appendChild(el("div", "greeting", fmt(T.offline_sent, { number: res.body.ticket })));
        })
        .catch(function () { submit.disabled = false; error.textContent = T.error; });
    });
  }

  // ---- composing ----------------------------------------------------------------------------
  function queueMessage(text, attachments, preview) {
    var p = { client_id: newId(), text: text, attachments: attachments || [], preview: preview || [], at: Date.now() };
    state.saved.pending.push(p);
    save();
    showPending(p);
    send({ type: "message", client_id: p.client_id, text: p.text, attachments: p.attachments });
  }

  function submit() {
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    suggestBox.hidden = true;
    queueMessage(text, []);
    input.focus();
  }
  sendBtn.addEventListener("click", submit);
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  function typed(text) {
    var now = Date.now();
    if (now - state.lastTyping < 1500) return;
    state.lastTyping = now;
    send({ type: "typing", text: state.conversation ? "" : text.slice(0, 200) });
  }
  input.addEventListener("input", function () { typed(input.value); });

  attachBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    if (file.size > CONFIG.max_upload) { notice(T.file_too_large); return; }
    if (CONFIG.upload_types.indexOf(file.type) === -1) { notice(T.file_type); return; }
    var data = new FormData();
    data.append("token", state.saved.token || "");
    data.append("language", LANG);
    data.append("file", file);
    var sending = notice(T.sending + " " + file.name);
    fetch(ORIGIN + "/widget/" + CONFIG.key + "/upload/", { method: "POST", body: data, credentials: "omit" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        sending.remove();
        if (!res.ok) { notice(res.body.detail || T.error); return; }
        queueMessage(input.value.trim(), [res.body.upload]);
        input.value = "";
      })
      .catch(function () { sending.textContent = T.error; });
  });

  transcriptBtn.addEventListener("click", function () {
    if (menu.querySelector("input")) return;
    var email = el("input");
    email.type = "email";
    email.placeholder = T.transcript_ask;
    email.value = state.visitor.email || "";
    var go = el("button", "link", T.send);
    go.type = "button";
    menu.appendChild(email);
    menu.appendChild(go);
    email.focus();
    go.addEventListener("click", function () {
      if (!email.value.trim()) { email.focus(); return; }
      send({ type: "transcript", email: email.value.trim() });
      email.remove();
      go.remove();
    });
  });

  function mount() {
    document.body.appendChild(host);
    if (state.saved.token) connect();  // a returning visitor: resume (history, pending messages)
    if (state.saved.opened) toggle(true);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
