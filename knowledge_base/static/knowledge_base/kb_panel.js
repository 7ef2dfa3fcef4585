/* Knowledge-base tools for the agent console; vanilla JS, no build step.
 *   KbPanel.mount(element, {ticketId, onInsert(text)}) — article suggestions for the open ticket,
 *     a search field, and "insert link" / "insert text" buttons that call onInsert.
 *   KbSearch.mount(inputElement) — a global search dropdown over articles, tickets and customers.
 * Everything from the server is put on the page with textContent; highlights come as offsets. */
(function () {
  "use strict";

  var STRINGS = {
    en: {
      suggestions: "Suggested articles", search: "Search articles…", insertLink: "Insert link",
      insertText: "Insert text", none: "No matching articles.", loading: "Loading…", failed: "Search is unavailable right now.",
      articles: "Articles", tickets: "Tickets", customers: "Customers", globalNone: "Nothing found.",
      internal: "internal"
    },
    zh: {
      suggestions: "推荐文章", search: "搜索文章…", insertLink: "插入链接", insertText: "插入正文",
      none: "没有匹配的文章。", loading: "加载中…", failed: "搜索暂时不可用。", articles: "文章", tickets: "工单",
      customers: "客户", globalNone: "没有找到结果。", internal: "内部"
    }
  };

  function t(key) {
    var lang = (document.documentElement.lang || "zh").toLowerCase().indexOf("en") === 0 ? "en" : "zh";
    return STRINGS[lang][key];
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* text with [start, end) highlight offsets → nodes, built with textContent only */
  function marked(tag, className, text, spans) {
    var node = el(tag, className);
    var at = 0;
    (spans || []).forEach(function (span) {
      if (span[0] < at || span[1] > text.length) return;
      if (span[0] > at) node.appendChild(document.createTextNode(text.slice(at, span[0])));
      node.appendChild(el("mark", null, text.slice(span[0], span[1])));
      at = span[1];
    });
    if (at < text.length) node.appendChild(document.createTextNode(text.slice(at)));
    return node;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function absolute(url) {
    return new URL(url, window.location.origin).href;
  }

  var KbPanel = {
    mount: function (element, options) {
      options = options || {};
      var onInsert = options.onInsert || function () {};
      element.classList.add("kb-panel");
      element.textContent = "";
      var title = el("h3", "kb-panel-title", t("suggestions"));
      var input = el("input", "kb-panel-search");
      input.type = "search";
      input.placeholder = t("search");
      input.setAttribute("aria-label", t("search"));
      var list = el("ul", "kb-panel-list");
      list.setAttribute("aria-live", "polite");
      element.appendChild(title);
      element.appendChild(input);
      element.appendChild(list);

      function render(results) {
        list.textContent = "";
        if (!results.length) {
          list.appendChild(el("li", "kb-empty", t("none")));
          return;
        }
        results.forEach(function (r) {
          var item = el("li", "kb-item");
          var link = marked("a", "kb-item-title", r.title, r.title_highlights);
          link.href = r.url;
          link.target = "_blank";
          link.rel = "noopener";
          item.appendChild(link);
          item.appendChild(marked("p", "kb-item-snippet", r.snippet, r.highlights));
          var actions = el("div", "kb-item-actions");
          var insertLink = el("button", "kb-btn", t("insertLink"));
          insertLink.type = "button";
          insertLink.addEventListener("click", function () { onInsert(r.title + "\n" + absolute(r.url)); });
          var insertText = el("button", "kb-btn", t("insertText"));
          insertText.type = "button";
          insertText.addEventListener("click", function () {
            getJSON("/api/v1/kb/articles/" + encodeURIComponent(r.id) + "/").then(function (article) {
              onInsert(article.body);
            }).catch(function () { onInsert(r.title + "\n" + absolute(r.url)); });
          });
          actions.appendChild(insertLink);
          actions.appendChild(insertText);
          item.appendChild(actions);
          list.appendChild(item);
        });
      }

      function load(url) {
        list.textContent = "";
        list.appendChild(el("li", "kb-empty", t("loading")));
        getJSON(url).then(function (data) { render(data.results || []); }).catch(function () {
          list.textContent = "";
          list.appendChild(el("li", "kb-empty kb-error", t("failed")));
        });
      }

      function suggestions() {
        if (options.ticketId) load("/api/v1/kb/suggestions/?ticket=" + encodeURIComponent(options.ticketId));
        else render([]);
      }

      input.addEventListener("input", debounce(function () {
        var q = input.value.trim();
        if (q) load("/api/v1/search/?type=articles&limit=8&q=" + encodeURIComponent(q));
        else suggestions();
      }, 250));
      suggestions();
      return { reload: suggestions };
    }
  };

  var KbSearch = {
    mount: function (input) {
      var box = el("div", "kb-dropdown");
      box.hidden = true;
      box.setAttribute("role", "listbox");
      input.setAttribute("autocomplete", "off");
      input.parentNode.classList.add("kb-search-host");
      input.parentNode.insertBefore(box, input.nextSibling);
      var counter = 0;

      function group(label, results) {
        if (!results.length) return null;
        var section = el("section", "kb-group");
        section.appendChild(el("h4", null, label));
        results.forEach(function (r) {
          var link = el("a", "kb-hit");
          link.href = r.url;
          link.setAttribute("role", "option");
          link.appendChild(marked("strong", null, r.title, r.title_highlights));
          if (r.snippet) link.appendChild(marked("small", null, r.snippet, r.highlights));
          section.appendChild(link);
        });
        return section;
      }

      var run = debounce(function () {
        var q = input.value.trim();
        var mine = ++counter;
        if (q.length < 2) { box.hidden = true; return; }
        var url = function (type) { return "/api/v1/search/?limit=5&type=" + type + "&q=" + encodeURIComponent(q); };
        Promise.all(["articles", "tickets", "customers"].map(function (type) {
          return getJSON(url(type)).then(function (d) { return d.results || []; }).catch(function () { return []; });
        })).then(function (all) {
          if (mine !== counter) return;  // a newer query is on its way
          box.textContent = "";
          var sections = [group(t("articles"), all[0]), group(t("tickets"), all[1]), group(t("customers"), all[2])];
          sections.forEach(function (s) { if (s) box.appendChild(s); });
          if (!box.childNodes.length) box.appendChild(el("p", "kb-empty", t("globalNone")));
          box.hidden = false;
        });
      }, 200);

      input.addEventListener("input", run);
      input.addEventListener("focus", function () { if (box.childNodes.length && input.value.trim()) box.hidden = false; });
      input.addEventListener("keydown", function (e) { if (e.key === "Escape") box.hidden = true; });
      document.addEventListener("click", function (e) {
        if (e.target !== input && !box.contains(e.target)) box.hidden = true;
      });
      return { close: function () { box.hidden = true; } };
    }
  };

  window.KbPanel = KbPanel;
  window.KbSearch = KbSearch;
})();
