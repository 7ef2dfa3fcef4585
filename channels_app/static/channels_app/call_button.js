/*
 * Click-to-call from a CRM page: a button with data-call-person="<person id>" asks
 * POST /api/v1/phone/calls/ to ring the agent's phone, then the customer; the text goes to the
 * element named by data-call-status. Strings go through Django's JavaScript catalog.
 */
(function () {
  "use strict";

  var _ = typeof window.gettext === "function" ? window.gettext : function (text) { return text; };

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function firstError(data, fallback) {
    var errors = data.errors || {};
    var first = Object.keys(errors).map(function (key) { return [].concat(errors[key]).join(" "); })[0];
    return first || data.detail || fallback;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-call-person]");
    if (!button) return;
    var status = document.getElementById(button.getAttribute("data-call-status"));
    var say = function (text) { if (status) status.textContent = text; };
    button.disabled = true;
    say(_("Calling your phone, then the customer…"));
    fetch("/api/v1/phone/calls/", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ person: Number(button.getAttribute("data-call-person")) })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(firstError(data, response.statusText));
        say(_("Your phone is ringing; the customer is called when you answer."));
      });
    }).catch(function (error) {
      say(error.message);
    }).then(function () { button.disabled = false; });
  });
})();
