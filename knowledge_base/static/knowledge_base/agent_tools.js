/* Mounts the knowledge-base panel and the global search on the agent-tools page. */
(function () {
  "use strict";
  var script = document.currentScript;
  var reply = document.getElementById("reply");
  window.KbPanel.mount(document.getElementById("kb-panel"), {
    ticketId: script.getAttribute("data-ticket"),
    onInsert: function (text) { reply.value = (reply.value ? reply.value + "\n\n" : "") + text; }
  });
  window.KbSearch.mount(document.getElementById("global-search"));
})();
