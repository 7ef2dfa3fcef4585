/* The realtime agent console. Vanilla JS, no build step.
 *
 * Lists come from the console's JSON endpoints; changes go through them or the REST API;
 * /ws/agent/ pushes ticket events (protocol: docs/websocket.md). The socket is opened with
 * ?after=<last event id>, so after a blip the server replays what we missed, in order.
 *
 * Everything that came from outside (subjects, names, messages) is put on the page with
 * textContent, never as markup. */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, obj, named) {
    return named ? fmt.replace(/%\((\w+)\)s/g, function (m, k) { return String(obj[k]); }) : fmt;
  };
  var config = JSON.parse(document.getElementById("console-config").textContent);
  var root = document.getElementById("console");
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    view: "mine",
    tickets: [],
    ticket: null,
    lastEvent: 0,
    socket: null,
    retry: 0,
    offers: {},
    options: null,
    typingSentAt: 0,
    viewers: {},
    stopped: false,
  };

  // --- helpers ---------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function csrf() {
    var input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf(), Accept: "application/json" } };
    if (body instanceof FormData) options.body = body;
    else if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function errorText(result) {
    var data = result.data || {};
    var parts = [];
    Object.keys(data.errors || {}).forEach(function (field) {
      [].concat(data.errors[field]).forEach(function (m) { parts.push(String(m)); });
    });
    return parts.join(" ") || data.detail || interpolate(gettext("The server answered %(status)s."), { status: result.status }, true);
  }

  var toastTimer = null;
  function toast(message, kind) {
    var box = $("cc-toast");
    box.textContent = message;
    box.className = "cc-toast" + (kind ? " cc-toast-" + kind : "");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  /* Times in the user's time zone (their profile's, as on the server-rendered pages), not the browser's. */
  function when(iso) {
    var lang = document.documentElement.lang;
    var zone = root.dataset.timeZone ? { timeZone: root.dataset.timeZone } : {};
    var date = new Date(iso);
    var day = function (d) { return d.toLocaleDateString("en-CA", zone); };
    var time = date.toLocaleTimeString(lang, Object.assign({ hour: "2-digit", minute: "2-digit" }, zone));
    if (day(date) === day(new Date())) return time;
    return date.toLocaleDateString(lang, Object.assign({ month: "2-digit", day: "2-digit" }, zone)) + " " + time;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // --- connection ------------------------------------------------------------------
  function setConnection(kind, text) {
    root.dataset.state = kind;
    var box = $("cc-connection");
    box.className = "cc-connection cc-connection-" + kind;
    box.querySelector(".cc-connection-text").textContent = text;
  }

  function connect() {
    if (state.stopped) return;
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + location.host + "/ws/agent/?after=" + encodeURIComponent(state.lastEvent);
    var socket = new WebSocket(url);
    state.socket = socket;
    socket.onopen = function () {
      state.retry = 0;
      setConnection("live", gettext("Live"));
      if (state.ticket) send({ type: "viewing", ticket: state.ticket.id });
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      onFrame(frame);
    };
    socket.onclose = function (event) {
      if (state.socket !== socket) return;
      state.socket = null;
      if (event.code === 4401 || event.code === 4403) {
        state.stopped = true;
        setConnection("down", event.code === 4401 ? gettext("Signed out: reload the page") : gettext("Not allowed"));
        return;
      }
      state.retry = Math.min(state.retry + 1, 6);
      var delay = Math.min(15000, 500 * Math.pow(2, state.retry - 1)) + Math.random() * 300;
      setConnection("down", gettext("Reconnecting…"));
      setTimeout(connect, delay);
    };
  }

  function send(frame) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
  }

  setInterval(function () { send({ type: "ping" }); }, 25000);

  var refreshInbox = debounce(function () { loadInbox(); }, 250);
  var refreshTicket = debounce(function () { if (state.ticket) openTicket(state.ticket.id, { keepScroll: true }); }, 250);

  function onFrame(frame) {
    switch (frame.type) {
      case "event":
        if (frame.id > state.lastEvent) state.lastEvent = frame.id;
        onEvent(frame.event);
        break;
      case "reload":
        if (frame.last_event) state.lastEvent = frame.last_event;
        refreshInbox();
        refreshTicket();
        break;
      case "typing":
      case "viewing":
        onCollision(frame);
        break;
      case "error":
        if (window.console) console.warn("console socket:", frame.code, frame.message);
        break;
      default:
        break;
    }
  }

  function onEvent(event) {
    var kind = event.kind || "";
    var notify = (event.data && event.data.notify) || [];
    if (kind === "offer.created" && notify.indexOf(config.userId) !== -1) {
      addOffer({ id: event.data.offer, ticket: event.ticket, expires_at: event.data.expires_at, queue: event.data.queue });
      alertOffer(event.ticket);
    } else if (/^offer\./.test(kind) && event.data && event.data.offer) {
      removeOffer(event.data.offer);
    }
    if (window.PhonePanel) window.PhonePanel.handleEvent(event);
    refreshInbox();
    if (state.ticket && event.ticket && event.ticket.id === state.ticket.id) refreshTicket();
  }

  // --- inbox -----------------------------------------------------------------------
  function filters() {
    var form = $("cc-filters");
    return { q: form.q.value.trim(), status: form.status.value, channel: form.channel.value };
  }

  function loadInbox() {
    var f = filters();
    var query = new URLSearchParams({ view: state.view, q: f.q, status: f.status, channel: f.channel });
    return request("GET", "/console/api/inbox/?" + query.toString()).then(function (result) {
      if (!result.ok) { toast(errorText(result), "error"); return; }
      if (!state.lastEvent) state.lastEvent = result.data.last_event || 0;
      state.tickets = result.data.tickets;
      renderInbox(result.data.counts);
    });
  }

  function renderInbox(counts) {
    var list = $("cc-list");
    clear(list);
    state.tickets.forEach(function (t) {
      var unread = t.unread ? el("span", { className: "cc-unread", text: String(t.unread), title: gettext("Unread messages") }) : null;
      var item = el("li", { className: "cc-item" + (state.ticket && state.ticket.id === t.id ? " is-open" : "") + (t.unread ? " has-unread" : ""), "data-ticket": t.id }, [
        el("button", { type: "button", className: "cc-item-btn", onclick: function () { openTicket(t.id); } }, [
          el("span", { className: "cc-item-top" }, [
            el("span", { className: "cc-channel channel-" + t.channel, text: t.channel_label }),
            el("span", { className: "cc-item-customer", text: t.customer }),
            el("time", { className: "cc-item-time muted", text: when(t.updated_at) }),
          ]),
          el("span", { className: "cc-item-subject", text: t.subject }),
          el("span", { className: "cc-item-bottom" }, [
            el("span", { className: "mono muted", text: "#" + t.number }),
            el("span", { className: "badge status-" + t.status, text: t.status_label }),
            t.priority === "high" || t.priority === "urgent" ? el("span", { className: "badge priority-" + t.priority, text: t.priority_label }) : null,
            t.assignee ? el("span", { className: "muted cc-item-assignee", text: t.assignee.name }) : el("span", { className: "cc-waiting", text: gettext("Waiting") }),
            countdown(t.sla),
            unread,
          ]),
        ]),
      ]);
      list.appendChild(item);
    });
    $("cc-list-empty").hidden = state.tickets.length > 0;
    tickCountdowns();
    if (counts) {
      root.querySelectorAll("[data-count]").forEach(function (node) { node.textContent = String(counts[node.dataset.count] || 0); });
      $("cc-unread-total").textContent = counts.unread
        ? interpolate(gettext("%(n)s unread messages in your conversations"), { n: counts.unread }, true)
        : "";
      document.title = (counts.unread ? "(" + counts.unread + ") " : "") + document.title.replace(/^\(\d+\) /, "");
    }
  }

  function setView(view) {
    state.view = view;
    root.querySelectorAll(".cc-tab").forEach(function (tab) {
      var active = tab.dataset.view === view;
      tab.classList.toggle("is-active", active);
      tab.setAttribute("aria-selected", active ? "true" : "false");
    });
    loadInbox();
  }

  // --- one conversation ------------------------------------------------------------
  function openTicket(id, opts) {
    opts = opts || {};
    return request("GET", "/console/api/tickets/" + id + "/").then(function (result) {
      if (!result.ok) {
        toast(result.status === 404 ? gettext("This conversation is no longer in your scope.") : errorText(result), "error");
        return;
      }
      var changed = !state.ticket || state.ticket.id !== id;
      state.ticket = result.data;
      if (changed) {
        state.viewers = {};
        send({ type: "viewing", ticket: id });
        $("cc-why-card").hidden = true;
        mountKb(id);
      }
      renderTicket(opts.keepScroll && !changed);
      request("POST", "/console/api/tickets/" + id + "/read/").then(function () {
        var row = state.tickets.find(function (t) { return t.id === id; });
        if (row && row.unread) refreshInbox();
      });
      root.querySelectorAll(".cc-item").forEach(function (node) { node.classList.toggle("is-open", Number(node.dataset.ticket) === id); });
    });
  }

  function renderTicket(keepScroll) {
    var t = state.ticket;
    $("cc-placeholder").hidden = true;
    $("cc-ticket").hidden = false;
    $("cc-number").textContent = "#" + t.number;
    $("cc-subject").textContent = t.subject;
    var badges = $("cc-badges");
    clear(badges);
    badges.appendChild(el("span", { className: "badge status-" + t.status, "data-ticket-status": true, text: t.status_label }));
    badges.appendChild(el("span", { className: "badge priority-" + t.priority, text: t.priority_label }));
    badges.appendChild(el("span", { className: "badge", text: t.channel_label }));
    if (t.queue) badges.appendChild(el("span", { className: "muted", text: t.queue }));
    badges.appendChild(el("a", { href: "/tickets/" + t.number + "/", className: "cc-full-link", text: gettext("Full page") }));

    var status = $("cc-status");
    clear(status);
    status.appendChild(el("option", { value: t.status, text: t.status_label }));
    t.statuses.forEach(function (s) { status.appendChild(el("option", { value: s.value, text: s.label })); });
    $("cc-priority").value = t.priority;
    $("cc-tags").value = t.tags.join(", ");
    renderAssignChoices();

    var thread = $("cc-thread");
    var atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    clear(thread);
    t.messages.forEach(function (m) { thread.appendChild(renderMessage(m)); });
    if (!t.messages.length) thread.appendChild(el("p", { className: "muted cc-empty", text: gettext("No messages yet.") }));
    if (!keepScroll || atBottom) thread.scrollTop = thread.scrollHeight;
    renderCustomer(t.customer_card);
    renderPhone(t);
    renderSla(t.sla_deadlines);
    renderCountdownBadge(badges, t.sla);
    renderCollision();
  }

  function renderMessage(m) {
    var who = m.direction === "in" ? (m.sender || state.ticket.customer) : (m.author ? m.author.name : gettext("System"));
    var attachments = m.attachments.length
      ? el("ul", { className: "attachments" }, m.attachments.map(function (a) {
          return el("li", {}, [a.url ? el("a", { href: a.url, download: true, text: a.filename }) : el("span", { className: "muted", text: a.filename })]);
        }))
      : null;
    return el("article", { className: "msg msg-" + m.direction, id: "cc-message-" + m.id, "data-message": m.id }, [
      el("header", { className: "msg-head" }, [
        el("strong", { text: who }),
        el("span", { className: "msg-kind", text: m.direction_label }),
        el("time", { className: "muted", datetime: m.created_at, text: when(m.created_at) }),
        m.delivery_label ? el("span", { className: "badge delivery-" + m.delivery_status, text: m.delivery_label }) : null,
      ]),
      m.flagged ? el("p", { className: "msg-warning", text: gettext("This message could not be read completely; check the original.") }) : null,
      el("div", { className: "msg-body", text: m.text }),
      attachments,
    ]);
  }

  // The phone panel (channels_app/phone.js, loaded when a phone line exists): calls of the ticket
  // and click-to-call. Mounted once per ticket so its call list is not refetched on every event.
  var phoneTicket = null;
  function renderPhone(t) {
    var card = $("cc-phone-card");
    if (!card || !window.PhonePanel || phoneTicket === t.id) return;
    phoneTicket = t.id;
    card.hidden = false;
    window.PhonePanel.mount($("cc-phone"), { ticketId: t.id });
  }

  function renderCustomer(card) {
    $("cc-customer").hidden = !card;
    $("cc-past-card").hidden = !card || !card.past_tickets.length;
    if (!card) return;
    var link = $("cc-customer-link");
    link.textContent = card.name;
    if (card.visible) link.setAttribute("href", "/customers/" + card.id + "/");
    else link.removeAttribute("href");
    $("cc-customer-company").textContent = card.companies.join(" · ");
    var ids = $("cc-identities");
    clear(ids);
    card.identities.forEach(function (i) { ids.appendChild(el("li", {}, [el("span", { className: "muted", text: i.label || i.kind }), " ", el("span", { className: "break", text: i.display || i.value })])); });
    var facts = $("cc-facts");
    clear(facts);
    [[gettext("Service level"), card.service_level], [gettext("Stage"), card.lifecycle], [gettext("Language"), card.language]].forEach(function (pair) {
      if (!pair[1]) return;
      facts.appendChild(el("dt", { text: pair[0] }));
      facts.appendChild(el("dd", { text: pair[1] }));
    });
    var tags = $("cc-customer-tags");
    clear(tags);
    card.tags.forEach(function (tag) { tags.appendChild(el("span", { className: "tag", text: tag })); });
    var past = $("cc-past");
    clear(past);
    card.past_tickets.forEach(function (p) {
      past.appendChild(el("li", {}, [
        el("button", { type: "button", className: "linklike", onclick: function () { openTicket(p.id); } }, [el("span", { className: "mono", text: "#" + p.number + " " }), el("span", { text: p.subject })]),
        el("span", { className: "badge status-" + p.status, text: p.status_label }),
      ]));
    });
  }

  // --- SLA countdowns: business time left to the next deadline, amber from the warning, red at breach ---

  function countdown(sla) {
    if (!sla) return null;
    return el("span", {
      className: "cc-countdown mono", "data-left": sla.left, "data-warn-left": sla.warn_left === null ? "" : sla.warn_left,
      "data-ticking": sla.ticking ? "1" : "0", "data-level": sla.level, "data-base-level": sla.level, "data-loaded": Date.now(),
      title: interpolate(gettext("Next SLA deadline: %(when)s"), { when: when(sla.due_at) }, true),
    });
  }

  function renderCountdownBadge(badges, sla) {
    var node = countdown(sla);
    if (node) {
      node.classList.add("cc-countdown-head");
      badges.appendChild(node);
    }
    tickCountdowns();
  }

  function businessTime(seconds) {
    var s = Math.floor(Math.abs(seconds));
    if (s >= 86400) return interpolate(gettext("%(d)sd %(h)sh"), { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) }, true);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") + m : m) + ":" + (sec < 10 ? "0" : "") + sec;
  }

  function tickCountdowns() {
    root.querySelectorAll(".cc-countdown").forEach(function (node) {
      var passed = (Date.now() - Number(node.dataset.loaded)) / 1000;
      var left = Number(node.dataset.left) - (node.dataset.ticking === "1" || Number(node.dataset.left) <= 0 ? passed : 0);
      var warnLeft = node.dataset.warnLeft === "" ? null : Number(node.dataset.warnLeft);
      var level = left <= 0 ? "breached" : node.dataset.baseLevel === "warning" || (warnLeft !== null && left <= warnLeft) ? "warning" : "ok";
      node.dataset.level = level;
      node.textContent = left <= 0 ? interpolate(gettext("overdue %(time)s"), { time: businessTime(-left) }, true) : businessTime(left);
    });
  }
  setInterval(tickCountdowns, 1000);

  function renderSla(sla) {
    $("cc-sla-card").hidden = !sla.length;
    var list = $("cc-sla");
    clear(list);
    sla.forEach(function (timer) {
      // The same business-time countdown as the header's: outside business hours it stands still.
      var left = timer.paused ? el("strong", { text: gettext("paused") }) : countdown(timer.countdown);
      list.appendChild(el("li", { className: timer.breached ? "is-breached" : "" }, [
        el("span", { text: timer.label }), left, el("time", { className: "muted", text: when(timer.due_at) }),
      ]));
    });
    tickCountdowns();
  }

  // --- options: assignees, queues, canned responses -----------------------------------
  function loadOptions() {
    return request("GET", "/console/api/options/").then(function (result) {
      if (!result.ok) return;
      state.options = result.data;
      var canned = $("cc-canned");
      result.data.canned.forEach(function (c) { canned.appendChild(el("option", { value: String(c.id), text: c.title })); });
      canned.hidden = !result.data.canned.length;
      if (state.ticket) renderAssignChoices();
    });
  }

  function renderAssignChoices() {
    var t = state.ticket;
    var assignee = $("cc-assignee");
    var queue = $("cc-queue");
    clear(assignee);
    clear(queue);
    assignee.appendChild(el("option", { value: "", text: t.assignee ? t.assignee.name : gettext("Nobody") }));
    if (!t.assignee || t.assignee.id !== config.userId) assignee.appendChild(el("option", { value: String(config.userId), text: gettext("Me") }));
    if (t.assignee) assignee.appendChild(el("option", { value: "none", text: gettext("Nobody (back to the queue)") }));
    queue.appendChild(el("option", { value: "", text: t.queue || "—" }));
    if (!state.options) return;
    if (state.options.may_assign_others) {
      state.options.agents.forEach(function (a) {
        if ((t.assignee && a.id === t.assignee.id) || a.id === config.userId) return;
        assignee.appendChild(el("option", { value: String(a.id), text: a.name + " · " + a.presence_label }));
      });
    }
    state.options.queues.forEach(function (q) {
      if (q.name !== t.queue) queue.appendChild(el("option", { value: String(q.id), text: q.name + " (" + q.team + ")" }));
    });
  }

  // --- ticket actions (REST API) ---------------------------------------------------
  function ticketAction(method, path, body, done) {
    var id = state.ticket.id;
    return request(method, "/api/v1/tickets/" + id + "/" + path, body).then(function (result) {
      if (!result.ok) { toast(errorText(result), "error"); renderTicket(true); return; }
      toast(done, "ok");
      openTicket(result.data && result.data.id ? result.data.id : id, { keepScroll: true });
      refreshInbox();
    });
  }

  $("cc-status").addEventListener("change", function (e) {
    if (e.target.value === state.ticket.status) return;
    ticketAction("POST", "status/", { status: e.target.value }, gettext("Status changed."));
  });
  $("cc-priority").addEventListener("change", function (e) {
    ticketAction("PATCH", "", { priority: e.target.value }, gettext("Priority changed."));
  });
  $("cc-tags").addEventListener("change", function (e) {
    var tags = e.target.value.split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean);
    ticketAction("PATCH", "", { tags: tags }, gettext("Tags saved."));
  });
  $("cc-assignee").addEventListener("change", function (e) {
    if (!e.target.value) return;
    var assignee = e.target.value === "none" ? null : Number(e.target.value);
    ticketAction("POST", "assign/", { assignee: assignee }, gettext("Assignment changed."));
  });
  $("cc-queue").addEventListener("change", function (e) {
    if (!e.target.value) return;
    ticketAction("POST", "assign/", { queue: Number(e.target.value), assignee: null }, gettext("Transferred."));
  });
  $("cc-merge").addEventListener("submit", function (e) {
    e.preventDefault();
    var number = $("cc-merge-number").value.replace(/\D/g, "");
    if (!number) return;
    request("GET", "/console/api/inbox/?" + new URLSearchParams({ view: "all", q: number, status: "" })).then(function (result) {
      var target = result.ok && result.data.tickets.find(function (t) { return String(t.number) === number; });
      if (!target) { toast(gettext("No ticket with that number in your scope."), "error"); return; }
      if (!window.confirm(interpolate(gettext("Merge this ticket into #%(n)s? This one will be closed."), { n: number }, true))) return;
      ticketAction("POST", "merge/", { into: target.id }, gettext("Merged."));
    });
  });
  $("cc-why").addEventListener("click", function () {
    var card = $("cc-why-card");
    var body = $("cc-why-body");
    clear(body);
    card.hidden = false;
    request("GET", "/api/v1/routing/tickets/" + state.ticket.id + "/explain/").then(function (result) {
      if (!result.ok) {
        body.appendChild(el("p", { className: "muted", text: result.status === 404 ? gettext("Routing has not explained this ticket yet.") : errorText(result) }));
        return;
      }
      body.appendChild(describe(result.data));
    });
  });

  /* Show an unknown JSON answer as a readable list, as text. */
  function describe(value, depth) {
    depth = depth || 0;
    if (value === null || typeof value !== "object") return el("span", { text: String(value) });
    var list = el("ul", { className: "cc-why-list" });
    Object.keys(value).slice(0, 40).forEach(function (key) {
      var child = value[key];
      var label = Array.isArray(value) ? null : el("strong", { text: key + ": " });
      list.appendChild(el("li", {}, [label, depth < 3 ? describe(child, depth + 1) : el("span", { text: JSON.stringify(child) })]));
    });
    return list;
  }

  // --- reply box -------------------------------------------------------------------
  function replyKind() { return $("cc-reply").querySelector("input[name=kind]:checked").value; }

  function setReplyKind(kind) {
    $("cc-reply").querySelector("input[value=" + kind + "]").checked = true;
    $("cc-reply").classList.toggle("is-note", kind === "note");
    $("cc-body").placeholder = kind === "note" ? gettext("Internal note, only colleagues see it… (Ctrl+Enter adds it)") : gettext("Write a reply… (Ctrl+Enter sends)");
    $("cc-send").textContent = kind === "note" ? gettext("Add note") : gettext("Send");
  }

  $("cc-reply").addEventListener("change", function (e) { if (e.target.name === "kind") setReplyKind(e.target.value); });

  function insertText(text) {
    var box = $("cc-body");
    var start = box.selectionStart || box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(box.selectionEnd || start);
    box.focus();
  }

  $("cc-canned").addEventListener("change", function (e) {
    var chosen = (state.options ? state.options.canned : []).find(function (c) { return String(c.id) === e.target.value; });
    if (chosen) insertText(chosen.body);
    e.target.value = "";
  });

  $("cc-files").addEventListener("change", function (e) {
    var names = Array.prototype.map.call(e.target.files, function (f) { return f.name; });
    var tooLarge = Array.prototype.filter.call(e.target.files, function (f) { return f.size > config.maxAttachment; });
    $("cc-file-names").textContent = names.join(", ");
    $("cc-reply-error").textContent = tooLarge.length
      ? interpolate(gettext("%(name)s is larger than %(max)s."), { name: tooLarge[0].name, max: config.maxAttachmentLabel }, true)
      : "";
  });

  $("cc-body").addEventListener("input", function () {
    var now = Date.now();
    if (state.ticket && now - state.typingSentAt > 2000) {
      state.typingSentAt = now;
      send({ type: "typing", ticket: state.ticket.id });
    }
  });

  /* "/shortcut" then Tab: the canned response with that shortcut replaces what was typed. */
  function expandShortcut(box) {
    var before = box.value.slice(0, box.selectionStart);
    var match = /(^|\s)\/([\w-]+)$/.exec(before);
    var canned = state.options ? state.options.canned : [];
    var chosen = match && canned.find(function (c) { return c.shortcut && c.shortcut === match[2]; });
    if (!chosen) return false;
    var start = before.length - match[2].length - 1;
    box.value = box.value.slice(0, start) + chosen.body + box.value.slice(box.selectionStart);
    box.selectionStart = box.selectionEnd = start + chosen.body.length;
    return true;
  }

  $("cc-body").addEventListener("keydown", function (e) {
    if (e.key === "Tab" && !e.shiftKey && expandShortcut(e.target)) { e.preventDefault(); return; }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("cc-reply").requestSubmit(); }
    if (e.key === "Escape") e.target.blur();
  });

  $("cc-reply").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = $("cc-body");
    var files = $("cc-files");
    if (!body.value.trim() && !files.files.length) { $("cc-reply-error").textContent = gettext("Write a message or attach a file."); return; }
    var form = new FormData();
    form.append("kind", replyKind());
    form.append("body_text", body.value);
    Array.prototype.forEach.call(files.files, function (f) { form.append("attachments", f); });
    var button = $("cc-send");
    button.disabled = true;
    var ticketId = state.ticket.id;
    request("POST", "/console/api/tickets/" + ticketId + "/messages/", form).then(function (result) {
      button.disabled = false;
      if (!result.ok) { $("cc-reply-error").textContent = errorText(result); return; }  // the text stays in the box
      $("cc-reply-error").textContent = "";
      body.value = "";
      files.value = "";
      $("cc-file-names").textContent = "";
      if (state.ticket && state.ticket.id === ticketId) {
        var thread = $("cc-thread");
        var empty = thread.querySelector(".cc-empty");
        if (empty) empty.remove();
        if (!document.getElementById("cc-message-" + result.data.id)) thread.appendChild(renderMessage(result.data));
        thread.scrollTop = thread.scrollHeight;
      }
      refreshTicket();
    }, function () {
      button.disabled = false;
      $("cc-reply-error").textContent = gettext("Not sent: the network is down. Your text is still here.");
    });
  });

  // --- collision: who else is viewing or typing ------------------------------------
  var typingTimers = {};
  function onCollision(frame) {
    if (!state.ticket || frame.ticket !== state.ticket.id) return;
    if (frame.who === "visitor") {
      showTyping(gettext("The customer is typing…"), "visitor");
      return;
    }
    var user = frame.user;
    var entry = state.viewers[user.id] || { name: user.name, typing: false };
    if (frame.type === "viewing") {
      if (!frame.active) { delete state.viewers[user.id]; renderCollision(); return; }
    } else {
      entry.typing = true;
      clearTimeout(typingTimers[user.id]);
      typingTimers[user.id] = setTimeout(function () { entry.typing = false; renderCollision(); }, 5000);
    }
    state.viewers[user.id] = entry;
    renderCollision();
  }

  var typingTimer = null;
  function showTyping(text) {
    var box = $("cc-typing");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  function renderCollision() {
    var box = $("cc-collision");
    var people = Object.keys(state.viewers).map(function (id) { return state.viewers[id]; });
    box.hidden = !people.length;
    clear(box);
    if (!people.length) return;
    var typing = people.filter(function (p) { return p.typing; });
    box.classList.toggle("is-typing", typing.length > 0);
    box.appendChild(el("span", { className: "dot", "aria-hidden": "true" }));
    box.appendChild(document.createTextNode(typing.length
      ? interpolate(gettext("%(names)s is typing a reply here"), { names: typing.map(function (p) { return p.name; }).join(", ") }, true)
      : interpolate(gettext("%(names)s is also viewing this conversation"), { names: people.map(function (p) { return p.name; }).join(", ") }, true)));
  }

  // --- offers ----------------------------------------------------------------------
  function addOffer(offer) {
    if (!offer.id || state.offers[offer.id]) return;
    state.offers[offer.id] = offer;
    renderOffers();
  }

  function removeOffer(id) {
    if (!state.offers[id]) return;
    delete state.offers[id];
    renderOffers();
  }

  function renderOffers() {
    var box = $("cc-offers");
    clear(box);
    Object.keys(state.offers).forEach(function (id) {
      var offer = state.offers[id];
      var ticket = offer.ticket || {};
      var label = interpolate(gettext("New conversation #%(n)s offered to you"), { n: ticket.number || "?" }, true);
      var expires = offer.expires_at ? el("span", { className: "cc-offer-expiry muted", "data-expires": offer.expires_at }) : null;
      box.appendChild(el("div", { className: "cc-offer", "data-offer": id }, [
        el("span", { className: "cc-offer-pulse", "aria-hidden": "true" }),
        el("span", { className: "cc-offer-text", text: label }),
        expires,
        el("button", { type: "button", className: "btn btn-primary btn-sm cc-accept", onclick: function () { answerOffer(id, "accept"); }, text: gettext("Accept") }),
        el("button", { type: "button", className: "btn btn-ghost btn-sm cc-decline", onclick: function () { answerOffer(id, "decline"); }, text: gettext("Decline") }),
      ]));
    });
    tickExpiry();
  }

  function tickExpiry() {
    document.querySelectorAll("[data-expires]").forEach(function (node) {
      var seconds = Math.max(0, Math.round((new Date(node.dataset.expires) - new Date()) / 1000));
      node.textContent = interpolate(gettext("%(s)s s left"), { s: seconds }, true);
    });
  }
  setInterval(tickExpiry, 1000);

  function answerOffer(id, answer) {
    var offer = state.offers[id];
    request("POST", "/api/v1/offers/" + id + "/" + answer + "/", {}).then(function (result) {
      if (result.status === 404) { toast(gettext("This offer is gone (expired or taken)."), "error"); removeOffer(id); return; }
      if (!result.ok) { toast(errorText(result), "error"); return; }
      removeOffer(id);
      if (answer === "accept" && offer && offer.ticket) { setView("mine"); openTicket(offer.ticket.id); }
    });
  }

  function loadOffers() {
    request("GET", "/api/v1/offers/").then(function (result) {
      if (!result.ok || !result.data) return;  // routing not there yet: offers only arrive live
      var rows = Array.isArray(result.data) ? result.data : result.data.results || [];
      rows.forEach(function (o) {
        if (o.status && o.status !== "pending") return;
        var ticket = typeof o.ticket === "object" && o.ticket ? o.ticket : { id: o.ticket, number: o.ticket_number };
        addOffer({ id: o.id, ticket: ticket, expires_at: o.expires_at });
      });
    });
  }

  function beep() {
    try {
      var Audio = window.AudioContext || window.webkitAudioContext;
      if (!Audio) return;
      var context = beep.context || (beep.context = new Audio());
      [0, 0.22].forEach(function (start) {
        var osc = context.createOscillator();
        var gain = context.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, context.currentTime + start);
        gain.gain.exponentialRampToValueAtTime(0.2, context.currentTime + start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, context.currentTime + start + 0.18);
        osc.connect(gain).connect(context.destination);
        osc.start(context.currentTime + start);
        osc.stop(context.currentTime + start + 0.2);
      });
    } catch (e) { /* sound is a nicety */ }
  }

  function alertOffer(ticket) {
    beep();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      try {
        var note = new Notification(gettext("New conversation offered"), {
          body: interpolate(gettext("Ticket #%(n)s is waiting for you."), { n: ticket.number }, true),
          tag: "offer-" + ticket.id,
        });
        note.onclick = function () { window.focus(); note.close(); };
      } catch (e) { /* notifications are a nicety */ }
    }
  }

  if (window.Notification && Notification.permission === "default") {
    $("cc-notify").hidden = false;
    $("cc-notify").addEventListener("click", function () {
      Notification.requestPermission().then(function () { $("cc-notify").hidden = true; });
      beep();  // a user gesture unlocks audio for later offers
    });
  }

  // --- presence --------------------------------------------------------------------
  root.querySelectorAll("[data-presence]").forEach(function (button) {
    button.addEventListener("click", function () {
      request("POST", "/console/api/presence/", { presence: button.dataset.presence }).then(function (result) {
        if (!result.ok) { toast(errorText(result), "error"); return; }
        root.querySelectorAll("[data-presence]").forEach(function (b) {
          var active = b.dataset.presence === result.data.presence;
          b.classList.toggle("is-active", active);
          b.setAttribute("aria-checked", active ? "true" : "false");
        });
        toast(interpolate(gettext("You are %(presence)s."), { presence: result.data.label }, true), "ok");
      });
    });
  });

  // --- knowledge base panel (when the knowledge base ships it) ------------------------
  function mountKb(ticketId) {
    var card = $("cc-kb-card");
    if (!window.KbPanel || typeof window.KbPanel.mount !== "function") return;
    card.hidden = false;
    var holder = $("cc-kb");
    clear(holder);
    try {
      window.KbPanel.mount(holder, { ticketId: ticketId, onInsert: function (text) { setReplyKind("reply"); insertText(String(text)); } });
    } catch (e) { card.hidden = true; }
  }

  // --- keyboard --------------------------------------------------------------------
  function moveSelection(step) {
    if (!state.tickets.length) return;
    var index = state.ticket ? state.tickets.findIndex(function (t) { return t.id === state.ticket.id; }) : -1;
    var next = state.tickets[Math.max(0, Math.min(state.tickets.length - 1, index + step))];
    if (next) openTicket(next.id);
  }

  function toggleHelp(show) {
    $("cc-help").hidden = !show;
    if (show) $("cc-help-close").focus();
  }
  $("cc-help-open").addEventListener("click", function () { toggleHelp(true); });
  $("cc-help-close").addEventListener("click", function () { toggleHelp(false); });
  $("cc-help").addEventListener("click", function (e) { if (e.target === $("cc-help")) toggleHelp(false); });

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { toggleHelp(false); return; }
    var target = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var handled = true;
    switch (e.key) {
      case "?": toggleHelp($("cc-help").hidden); break;
      case "j": moveSelection(1); break;
      case "k": moveSelection(-1); break;
      case "1": setView("mine"); break;
      case "2": setView("queue"); break;
      case "3": setView("all"); break;
      case "/": $("cc-search").focus(); break;
      case "r": if (state.ticket) { setReplyKind("reply"); $("cc-body").focus(); } break;
      case "n": if (state.ticket) { setReplyKind("note"); $("cc-body").focus(); } break;
      case "a": var first = Object.keys(state.offers)[0]; if (first) answerOffer(first, "accept"); break;
      case "t": if (state.ticket) ticketAction("POST", "assign/", { assignee: config.userId }, gettext("Assigned to you.")); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });

  // --- start -----------------------------------------------------------------------
  root.querySelectorAll(".cc-tab").forEach(function (tab) { tab.addEventListener("click", function () { setView(tab.dataset.view); }); });
  var filterChanged = debounce(loadInbox, 250);
  $("cc-filters").addEventListener("input", filterChanged);
  $("cc-filters").addEventListener("change", filterChanged);
  $("cc-filters").addEventListener("submit", function (e) { e.preventDefault(); loadInbox(); });

  loadInbox().then(connect, connect);  // the socket resumes from the inbox's last event: no gap between them
  loadOptions();
  loadOffers();
})();
