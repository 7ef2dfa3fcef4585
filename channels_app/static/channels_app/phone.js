/*
 * Phone panel for the agent console (issue 8). Self-contained, no build step, nothing loaded
 * from elsewhere. Usage:
 *
 *   PhonePanel.mount(element, { ticketId: 42 })   // shows the ticket's calls, click-to-call,
 *                                                  // the agent's own number; returns the panel
 *   PhonePanel.handleEvent(event)                  // give it each ticket event of /ws/agent/
 *                                                  // (the `event` of a "ticket.event" frame)
 *
 * It also listens to `window` CustomEvents named "console:ticket-event" whose detail is such an
 * event, so a console may dispatch instead of calling handleEvent.
 *
 * Calls are bridged to the agent's phone number (<Dial><Number>); in-browser audio needs the
 * Twilio Voice JS SDK, which is not bundled: POST /api/v1/phone/token/ mints its access token.
 * Strings go through Django's JavaScript catalog (window.gettext) when the page loads /jsi18n/.
 */
(function () {
  "use strict";

  var _ = typeof window.gettext === "function" ? window.gettext : function (text) { return text; };
  var panels = [];

  var STATUS = {
    "call.queued": _("Caller waiting in the queue"),
    "call.bridged": _("Ringing your phone…"),
    "call.dialing": _("Calling your phone, then the customer…"),
    "call.ringing": _("Ringing…"),
    "call.answered": _("Connected"),
    "call.agent_completed": _("Call finished"),
    "call.agent_no_answer": _("You did not answer: the caller may leave a voicemail"),
    "call.completed": _("Call ended"),
    "call.no_answer": _("No answer"),
    "call.busy": _("Busy"),
    "call.failed": _("Call failed"),
    "call.canceled": _("Call canceled"),
    "call.bridge_failed": _("The caller hung up before the call could be connected"),
    "call.voicemail": _("Voicemail received"),
    "call.recording": _("Recording available")
  };

  var CALL_STATUS = {  // Twilio's CallStatus values
    "queued": _("queued"),
    "ringing": _("ringing"),
    "in-progress": _("in progress"),
    "completed": _("completed"),
    "busy": _("busy"),
    "failed": _("failed"),
    "no-answer": _("no answer"),
    "canceled": _("canceled")
  };

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function api(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf() }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var errors = data.errors || {};
          var first = Object.keys(errors).map(function (key) { return [].concat(errors[key]).join(" "); })[0];
          throw new Error(first || data.detail || response.statusText);
        }
        return data;
      });
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function Panel(element, options) {
    this.element = element;
    this.ticketId = options && options.ticketId;
    this.build();
    this.refresh();
  }

  Panel.prototype.build = function () {
    var self = this;
    this.element.textContent = "";
    this.element.classList.add("phone-panel");
    this.status = el("p", { "class": "phone-status", role: "status", "aria-live": "polite" });
    this.callButton = el("button", { type: "button", "class": "phone-call" }, _("Call the customer"));
    this.callButton.addEventListener("click", function () { self.dial(); });
    this.list = el("ul", { "class": "phone-calls" });
    var form = el("form", { "class": "phone-me" });
    var label = el("label", {}, _("My phone number"));
    this.number = el("input", { type: "tel", name: "number", placeholder: "+8613800138000", autocomplete: "tel" });
    label.appendChild(this.number);
    form.appendChild(label);
    form.appendChild(el("button", { type: "submit" }, _("Save")));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("PUT", "/api/v1/phone/me/", { number: self.number.value }).then(function (me) {
        self.number.value = me.number;
        self.say(_("Saved."));
      }, function (error) { self.say(error.message); });
    });
    [this.status, this.callButton, this.list, form].forEach(function (node) { self.element.appendChild(node); });
    api("GET", "/api/v1/phone/me/").then(function (me) { self.number.value = me.number || ""; }, function () {});
  };

  Panel.prototype.say = function (text) { this.status.textContent = text; };

  Panel.prototype.dial = function () {
    var self = this;
    if (!this.ticketId) return;
    this.callButton.disabled = true;
    this.say(_("Calling your phone, then the customer…"));
    api("POST", "/api/v1/phone/calls/", { ticket: this.ticketId }).then(function () {
      self.refresh();
    }, function (error) {
      self.say(error.message);
    }).then(function () { self.callButton.disabled = false; });
  };

  Panel.prototype.refresh = function () {
    var self = this;
    if (!this.ticketId) { this.list.textContent = ""; return; }
    api("GET", "/api/v1/phone/calls/?ticket=" + encodeURIComponent(this.ticketId)).then(function (page) {
      self.list.textContent = "";
      (page.results || []).forEach(function (call) {
        var item = el("li", {}, [
          call.direction === "inbound" ? _("Inbound") : _("Outbound"),
          call.direction === "inbound" ? call.from_number : call.to_number,
          CALL_STATUS[call.status] || call.status,
          duration(call.duration)
        ].filter(Boolean).join(" · "));
        if (call.recording_url) {
          item.appendChild(document.createTextNode(" "));
          var link = el("a", { href: call.recording_url, target: "_blank", rel: "noopener" },
            call.voicemail ? _("Voicemail") : _("Recording"));
          item.appendChild(link);
        }
        self.list.appendChild(item);
      });
    }, function () {});
  };

  Panel.prototype.handleEvent = function (event) {
    var ticket = event && event.ticket;
    if (!ticket || ticket.id !== this.ticketId || !/^call\./.test(event.kind || "")) return;
    var text = STATUS[event.kind];
    if (text) {
      var seconds = event.data && event.data.duration;
      this.say(seconds ? text + " (" + duration(seconds) + ")" : text);
    }
    this.refresh();
  };

  function handleEvent(event) {
    panels = panels.filter(function (panel) { return document.body.contains(panel.element); });
    panels.forEach(function (panel) { panel.handleEvent(event); });
  }

  window.addEventListener("console:ticket-event", function (e) { handleEvent(e.detail); });

  window.PhonePanel = {
    mount: function (element, options) {
      panels = panels.filter(function (panel) { return panel.element !== element; });  // remounted for another ticket
      var panel = new Panel(element, options || {});
      panels.push(panel);
      return panel;
    },
    handleEvent: handleEvent,
    api: api  // fetch JSON from our API with the CSRF token; rejects with the API's first error
  };
})();
