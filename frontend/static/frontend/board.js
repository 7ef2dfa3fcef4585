/* The supervisor board: renders the server's snapshot, counts the SLA clocks down every second,
   and takes fresh snapshots ("board" frames) and events over /ws/supervisor/. Vanilla JS, no build.
   Outside text (subjects, names) is always put on the page with textContent. */
(function () {
  "use strict";

  var root = document.getElementById("board");
  if (!root) return;
  var config = JSON.parse(document.getElementById("board-config").textContent);
  var L = JSON.parse(document.getElementById("board-labels").textContent);
  var lang = document.documentElement.lang || "en";
  var zone = root.dataset.timeZone ? { timeZone: root.dataset.timeZone } : {};  // the user's, not the browser's
  var state = { snapshot: null, receivedAt: 0, socket: null, retry: 0, stopped: false, lastEvent: 0, reassign: null };

  function $(id) { return document.getElementById(id); }

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
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
      }
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function fill(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_, key) { return values[key] === undefined ? "" : values[key]; });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* Business time as H:MM:SS (or "2d 3h" beyond a day). */
  function duration(seconds) {
    var s = Math.max(0, Math.floor(Math.abs(seconds)));
    if (s >= 86400) return fill(L.days, { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) });
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ":" + pad(m) : m) + ":" + pad(sec);
  }

  function clockTime(iso, zone) {
    var options = { weekday: "short", hour: "2-digit", minute: "2-digit" };
    if (zone) options.timeZone = zone;
    try { return new Date(iso).toLocaleString(lang, options); } catch (e) { return new Date(iso).toLocaleString(lang); }
  }

  function elapsed() { return (Date.now() - state.receivedAt) / 1000; }

  function csrf() {
    var input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // --- rendering -----------------------------------------------------------------------
  function ticketLine(ticket) {
    return el("div", { className: "sb-ticket" }, [
      el("span", { className: "sb-number mono", text: "#" + ticket.number }),
      el("span", { className: "sb-subject", text: ticket.subject, title: ticket.subject }),
    ]);
  }

  function meta(ticket, extra) {
    var parts = [
      el("span", { className: "sb-prio sb-prio-" + ticket.priority, text: L.priority[ticket.priority] || ticket.priority }),
      el("span", { text: L.channel[ticket.channel] || ticket.channel }),
      ticket.queue ? el("span", { text: ticket.queue }) : null,
      el("span", { className: ticket.assignee ? "" : "sb-unassigned", text: ticket.assignee ? ticket.assignee.name : L.unassigned }),
    ];
    return el("div", { className: "sb-meta" }, parts.concat(extra || []));
  }

  function reassignButton(row) {
    return el("button", {
      type: "button", className: "sb-btn sb-btn-small sb-reassign-open", "data-reassign": row.ticket.id, text: L.reassign,
      onclick: function () { openReassign(row.ticket); },
    });
  }

  function renderQueues(queues) {
    var body = $("sb-queue-rows");
    clear(body);
    queues.forEach(function (q) {
      body.appendChild(el("tr", { "data-queue": q.id, className: q.breached ? "has-breach" : "" }, [
        el("th", { scope: "row" }, [el("span", { className: "sb-qname", text: q.name }), el("small", { text: q.team })]),
        el("td", { className: "num sb-big" + (q.waiting ? "" : " is-zero"), text: q.waiting }),
        el("td", { className: "num mono" + (q.longest_wait >= 600 ? " is-bad" : q.longest_wait >= 180 ? " is-warn" : ""), text: q.waiting ? duration(q.longest_wait) : "–" }),
        el("td", { className: "num", text: q.open }),
        el("td", { className: "num" + (q.breached ? " is-bad" : " is-zero"), text: q.breached }),
      ]));
    });
    $("sb-queues-empty").hidden = queues.length > 0;
  }

  function renderRisk(rows) {
    var list = $("sb-risk-rows");
    clear(list);
    rows.forEach(function (row) {
      var countdown = el("span", {
        className: "sb-countdown mono", "data-left": row.left, "data-warn-left": row.warn_left === null ? "" : row.warn_left,
        "data-ticking": row.ticking ? "1" : "0", "data-warned": row.warned ? "1" : "0",
      });
      list.appendChild(el("li", { className: "sb-row", "data-ticket": row.ticket.id }, [
        el("div", { className: "sb-row-main" }, [
          ticketLine(row.ticket),
          meta(row.ticket, [
            el("span", { className: "sb-target", text: L.target[row.target] || row.target }),
            el("span", { className: "sb-due", text: fill(L.due, { time: clockTime(row.due_at, row.time_zone) }) }),
          ]),
        ]),
        el("div", { className: "sb-row-side" }, [countdown, reassignButton(row)]),
      ]));
    });
    $("sb-risk-empty").hidden = rows.length > 0;
  }

  function renderBreached(rows) {
    var list = $("sb-breached-rows");
    clear(list);
    rows.forEach(function (row) {
      list.appendChild(el("li", { className: "sb-row is-breached", "data-ticket": row.ticket.id }, [
        el("div", { className: "sb-row-main" }, [
          ticketLine(row.ticket),
          meta(row.ticket, [el("span", { className: "sb-target", text: L.target[row.target] || row.target })]),
        ]),
        el("div", { className: "sb-row-side" }, [
          el("span", { className: "sb-overdue mono", "data-overdue": row.overdue, text: fill(L.overdue, { time: duration(row.overdue) }) }),
          reassignButton(row),
        ]),
      ]));
    });
    $("sb-breached-empty").hidden = rows.length > 0;
  }

  function renderAgents(agents) {
    var list = $("sb-agent-rows");
    clear(list);
    agents.forEach(function (a) {
      var loads = a.channels.map(function (c) {
        var share = c.capacity ? Math.min(100, Math.round((100 * c.load) / c.capacity)) : 100;
        return el("span", { className: "sb-load" + (c.load >= c.capacity ? " is-full" : "") + (c.load ? "" : " is-idle"), title: L.channel[c.channel] || c.channel }, [
          el("span", { className: "sb-load-top" }, [
            el("span", { className: "sb-load-label", text: L.channel[c.channel] || c.channel }),
            el("span", { className: "sb-load-num mono", text: c.load + "/" + c.capacity }),
          ]),
          el("span", { className: "sb-load-bar" }, [el("span", { className: "sb-load-fill", style: "width:" + share + "%" })]),
        ]);
      });
      list.appendChild(el("li", { className: "sb-agent sb-presence-" + a.presence, "data-agent": a.id }, [
        el("span", { className: "sb-agent-who" }, [
          el("span", { className: "dot", "aria-hidden": "true" }),
          el("span", { className: "sb-agent-name", text: a.name }),
          el("small", { text: L.presence[a.presence] || a.presence }),
        ]),
        el("span", { className: "sb-loads" }, loads),
      ]));
    });
    $("sb-agents-empty").hidden = agents.length > 0;
  }

  function renderCompliance(compliance) {
    ["queue", "team", "channel"].forEach(function (key) {
      var list = $("sb-comp-" + key);
      clear(list);
      (compliance[key] || []).slice(0, 6).forEach(function (row) {
        var tone = row.percent >= 90 ? "good" : row.percent >= 75 ? "warn" : "bad";
        list.appendChild(el("li", { className: "sb-bar sb-bar-" + tone, title: fill(L.met, row) }, [
          el("span", { className: "sb-bar-name", text: (key === "channel" ? L.channel[row.name] : row.name) || row.name || "–" }),
          el("span", { className: "sb-bar-track" }, [el("span", { className: "sb-bar-fill", style: "width:" + row.percent + "%" })]),
          el("span", { className: "sb-bar-pct mono", text: row.percent + "%" }),
        ]));
      });
    });
    var total = compliance.total || {};
    $("sb-compliance-empty").hidden = total.percent !== null && total.percent !== undefined;
    $("sb-kpi-compliance").textContent = total.percent === null || total.percent === undefined ? "–" : total.percent + "%";
  }

  function render(snapshot) {
    state.snapshot = snapshot;
    state.receivedAt = Date.now();
    renderQueues(snapshot.queues || []);
    renderRisk(snapshot.at_risk || []);
    renderBreached(snapshot.breached || []);
    renderAgents(snapshot.agents || []);
    renderCompliance(snapshot.compliance || {});
    var totals = snapshot.totals || {};
    $("sb-kpi-waiting").textContent = totals.waiting || 0;
    $("sb-kpi-online").textContent = totals.online || 0;
    tick();
    ["sb-risk-rows", "sb-breached-rows", "sb-agent-rows", "sb-queue-rows"].forEach(fitRows);
  }

  /* A wall screen does not scroll: rows that do not fit whole are left out (the worst come first). */
  function fitRows(id) {
    var list = $(id);
    var box = list.closest(".sb-panel");
    var bottom = box.getBoundingClientRect().bottom - 8;
    var full = false;
    Array.prototype.forEach.call(list.children, function (row) {
      row.hidden = false;
      if (full || row.getBoundingClientRect().bottom > bottom) {
        row.hidden = true;
        full = true;
      }
    });
  }

  /* Every second: each clock's business time left; amber from the warning, red at the breach. */
  function tick() {
    var passed = elapsed();
    var totals = (state.snapshot && state.snapshot.totals) || {};
    var risky = totals.at_risk || 0, breached = totals.breached || 0;
    root.querySelectorAll(".sb-countdown").forEach(function (node) {
      var ticking = node.dataset.ticking === "1";
      var left = Number(node.dataset.left) - (ticking ? passed : 0);
      var warnLeft = node.dataset.warnLeft === "" ? null : Number(node.dataset.warnLeft);
      var level = left <= 0 ? "breached" : (node.dataset.warned === "1" || (warnLeft !== null && left <= warnLeft)) ? "warning" : "ok";
      node.textContent = left <= 0 ? fill(L.overdue, { time: duration(-left) }) : duration(left);
      node.dataset.level = level;
      node.title = ticking ? "" : L.paused;
      node.classList.toggle("is-paused", !ticking && left > 0);
      var row = node.closest(".sb-row");
      if (row) {
        row.classList.toggle("is-warning", level === "warning");
        row.classList.toggle("is-breached", level === "breached");
      }
      // The totals are the snapshot's; a clock listed here may have moved on since.
      var wasWarned = node.dataset.warned === "1";
      if (level === "warning" && !wasWarned) risky += 1;
      if (level === "breached") { breached += 1; if (wasWarned) risky -= 1; }
    });
    root.querySelectorAll(".sb-overdue").forEach(function (node) {
      node.textContent = fill(L.overdue, { time: duration(Number(node.dataset.overdue) + passed) });
    });
    $("sb-kpi-risk").textContent = Math.max(risky, 0);
    $("sb-kpi-breached").textContent = breached;
    $("sb-clock").textContent = new Date().toLocaleTimeString(lang, Object.assign({ hour: "2-digit", minute: "2-digit", second: "2-digit" }, zone));
  }

  // --- alerts ----------------------------------------------------------------------------
  function alertBox(text, kind) {
    var box = $("sb-alerts");
    var item = el("div", { className: "sb-alert sb-alert-" + kind, role: "alert", text: text });
    box.insertBefore(item, box.firstChild);
    while (box.children.length > 3) box.removeChild(box.lastChild);
    setTimeout(function () { if (item.parentNode) item.parentNode.removeChild(item); }, 20000);
  }

  function onEvent(event) {
    var kind = event.kind || "";
    var ticket = event.ticket || {};
    var data = event.data || {};
    var values = { number: ticket.number, subject: ticket.subject || "", target: L.target[data.target] || data.target || "" };
    if (kind === "sla.escalated") alertBox(fill(L.escalated, values), "escalated");
    else if (kind === "sla.breached") alertBox(fill(L.breached_now, values), "breached");
  }

  // --- socket ----------------------------------------------------------------------------
  function setConnection(kind, text) {
    root.dataset.state = kind;
    $("sb-connection").className = "sb-connection sb-connection-" + kind;
    $("sb-connection").querySelector(".sb-connection-text").textContent = text;
  }

  function send(frame) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
  }

  function connect() {
    if (state.stopped) return;
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + location.host + "/ws/supervisor/" + (state.lastEvent ? "?after=" + state.lastEvent : "");
    var socket = new WebSocket(url);
    state.socket = socket;
    socket.onopen = function () {
      state.retry = 0;
      setConnection("live", L.live);
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame.type === "board" && frame.board) render(frame.board);
      else if (frame.type === "event") {
        if (frame.id > state.lastEvent) state.lastEvent = frame.id;
        onEvent(frame.event || {});
      }
    };
    socket.onclose = function (event) {
      if (state.socket !== socket) return;
      state.socket = null;
      if (event.code === 4401 || event.code === 4403) {
        state.stopped = true;
        setConnection("down", event.code === 4401 ? L.signed_out : L.not_allowed);
        return;
      }
      state.retry = Math.min(state.retry + 1, 6);
      setConnection("down", L.reconnecting);
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, state.retry - 1)) + Math.random() * 300);
    };
  }

  setInterval(function () { send({ type: "ping" }); }, 25000);

  // --- reassign --------------------------------------------------------------------------
  function openReassign(ticket) {
    state.reassign = ticket;
    $("sb-reassign-ticket").textContent = "#" + ticket.number;
    var select = $("sb-reassign-agent");
    clear(select);
    var presence = {};
    (state.snapshot.agents || []).forEach(function (a) { presence[a.id] = a.presence; });
    var order = { online: 0, away: 1, offline: 2 };
    config.agents.slice().sort(function (a, b) {
      return (order[presence[a.id] || a.presence] || 3) - (order[presence[b.id] || b.presence] || 3) || a.name.localeCompare(b.name);
    }).forEach(function (a) {
      var p = presence[a.id] || a.presence;
      select.appendChild(el("option", { value: a.id, text: a.name + " · " + (L.presence[p] || p), selected: ticket.assignee && ticket.assignee.id === a.id }));
    });
    $("sb-reassign-error").hidden = true;
    $("sb-reassign").hidden = false;
    select.focus();
  }

  function closeReassign() {
    $("sb-reassign").hidden = true;
    state.reassign = null;
  }

  $("sb-reassign-cancel").addEventListener("click", closeReassign);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && state.reassign) closeReassign(); });
  $("sb-reassign-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var ticket = state.reassign;
    if (!ticket) return;
    var agentId = Number($("sb-reassign-agent").value);
    fetch("/api/v1/tickets/" + ticket.id + "/assign/", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ assignee: agentId }),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var messages = [];
          Object.keys(data.errors || {}).forEach(function (k) { messages = messages.concat(data.errors[k]); });
          $("sb-reassign-error").textContent = messages.join(" ") || data.detail || String(response.status);
          $("sb-reassign-error").hidden = false;
          return;
        }
        var agent = config.agents.filter(function (a) { return a.id === agentId; })[0];
        alertBox(fill(L.assigned, { number: ticket.number, name: agent ? agent.name : "" }), "info");
        closeReassign();
        send({ type: "board" });
      });
    });
  });

  // --- wall screen -----------------------------------------------------------------------
  function setContrast(high) {
    root.dataset.contrast = high ? "high" : "normal";
    document.body.classList.toggle("contrast-high", high);
    $("sb-contrast").setAttribute("aria-pressed", high ? "true" : "false");
    try { localStorage.setItem("board-contrast", high ? "high" : "normal"); } catch (e) { /* private mode */ }
  }

  $("sb-contrast").addEventListener("click", function () { setContrast(root.dataset.contrast !== "high"); });
  $("sb-fullscreen").addEventListener("click", function () {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen();
  });
  var wanted = new URLSearchParams(location.search).get("contrast");
  var stored = null;
  try { stored = localStorage.getItem("board-contrast"); } catch (e) { stored = null; }
  setContrast((wanted || stored) === "high");

  render(JSON.parse(document.getElementById("board-snapshot").textContent));
  setInterval(tick, 1000);
  connect();
})();
