/*
 * Click-to-call from a CRM page: a button with data-call-person="<person id>" asks
 * POST /api/v1/phone/calls/ to ring the agent's phone, then the customer; the text goes to the
 * element named by data-call-status. Needs phone.js (PhonePanel.api) loaded before it.
 * Strings go through Django's JavaScript catalog.
 */
(function () {
  "use strict";

  var _ = typeof window.gettext === "function" ? window.gettext : function (text) { return text; };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-call-person]");
    if (!button) return;
    var status = document.getElementById(button.getAttribute("data-call-status"));
    var say = function (text) { if (status) status.textContent = text; };
    button.disabled = true;
    say(_("Calling your phone, then the customer…"));
    window.PhonePanel.api("POST", "/api/v1/phone/calls/", {
      person: Number(button.getAttribute("data-call-person"))
    }).then(function () {
      say(_("Your phone is ringing; the customer is called when you answer."));
    }).catch(function (error) {
      say(error.message);
    }).then(function () { button.disabled = false; });
  });
})();
