"use strict";
// Polls mesh.json and redraws the heatmap, the agent table and the stalled
// pairs. Every value goes through textContent: agent names are untrusted.
(function () {
  var POLL_MS = 2000, numbersUpTo = 20, selected = -1, last = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function age(s) {
    if (s < 0) return "-";
    if (s < 10) return s.toFixed(1) + "s";
    if (s < 60) return Math.floor(s) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }
  function cls(c) { return c.status !== "ok" ? c.status : (c.verified ? "ok" : "ok weak"); }
  function bg(c, staleAfter) {
    if (c.status !== "ok") return "";
    var f = staleAfter > 0 ? Math.min(c.ageSec / staleAfter, 1) : 0;
    return "hsl(" + Math.round(120 - 60 * f) + ",60%,40%)";
  }
  function ready(a) { return a.ready === null || a.ready === undefined ? "?" : (a.ready ? "yes" : "no"); }
  function title(v, i, r, c) {
    return v.agents[i].name + " -> " + v.agents[r].name + ": " + c.status + ", " + c.cycles + " cycles, last " +
      age(c.ageSec) + " ago, last cycle " + (c.verified ? "verified" : "not verified") + ", " + (c.secure ? "sealed" : "not sealed");
  }
  function replaceBody(table, rows) {
    var tb = el("tbody");
    rows.forEach(function (r) { tb.appendChild(r); });
    table.replaceChild(tb, table.tBodies[0]);
  }
  function heatmap(v) {
    var t = $("heatmap"), head = el("tr");
    head.appendChild(el("th"));
    v.agents.forEach(function (a) { head.appendChild(el("th", a.name)); });
    t.tHead.replaceChild(head, t.tHead.rows[0]);
    replaceBody(t, v.cells.map(function (row, i) {
      var tr = el("tr"), th = el("th", v.agents[i].name);
      th.dataset.agent = i;
      tr.appendChild(th);
      row.forEach(function (c, r) {
        if (!c) { tr.appendChild(el("td", null, "cell self")); return; }
        var td = el("td", v.agents.length <= numbersUpTo ? c.cycles : null, "cell " + cls(c));
        td.dataset.i = i; td.dataset.r = r;
        td.style.background = bg(c, v.staleAfterSec);
        td.title = title(v, i, r, c);
        tr.appendChild(td);
      });
      return tr;
    }));
  }
  function agents(v) {
    replaceBody($("agents"), v.agents.map(function (a, i) {
      var tr = el("tr", null, "agent" + (i === selected ? " sel" : ""));
      tr.dataset.agent = i; tr.dataset.id = a.id;
      tr.appendChild(el("td", a.name));
      tr.appendChild(el("td", ready(a), a.ready === false ? "notready" : ""));
      tr.appendChild(el("td", a.cycles));
      tr.appendChild(el("td", a.stalled));
      return tr;
    }));
  }
  function pairRow(v, p) {
    var c = v.cells[p.i][p.r], tr = el("tr");
    tr.appendChild(el("td", v.agents[p.i].name));
    tr.appendChild(el("td", v.agents[p.r].name));
    tr.appendChild(el("td", c.status, c.status === "ok" ? "" : "stale-txt"));
    tr.appendChild(el("td", c.cycles));
    tr.appendChild(el("td", age(c.ageSec)));
    return tr;
  }
  function stalled(v) {
    var rows = v.worst.filter(function (p) { return v.cells[p.i][p.r].status !== "ok"; }).slice(0, 50)
      .map(function (p) { return pairRow(v, p); });
    if (!rows.length) { var tr = el("tr"), td = el("td", "none"); td.colSpan = 5; tr.appendChild(td); rows = [tr]; }
    replaceBody($("stalled"), rows);
  }
  function detail(v) {
    var d = $("detail");
    while (d.firstChild) d.removeChild(d.firstChild);
    if (selected < 0 || selected >= v.agents.length) { d.appendChild(el("p", "Click an agent for its pairs.")); return; }
    var a = v.agents[selected];
    d.appendChild(el("h3", a.name));
    d.appendChild(el("p", "ID " + a.id + ", ready " + ready(a) + ", " + a.cycles + " cycles, " + a.stalled + " stalled pairs"));
    var t = el("table"), head = el("tr");
    ["initiator", "responder", "status", "cycles", "age"].forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(el("thead")).appendChild(head);
    var tb = t.appendChild(el("tbody"));
    v.worst.forEach(function (p) { if (p.i === selected || p.r === selected) tb.appendChild(pairRow(v, p)); });
    d.appendChild(t);
  }
  function render(v) {
    last = v;
    var s = $("summary");
    s.textContent = v.agents.length + " agents, " + v.worst.length + " pairs, " + v.stalled + " stalled (no cycle within " +
      v.staleAfterSec + "s), at " + v.at + (v.truncated ? " (partial: the source capped its rows)" : "");
    s.className = v.stalled ? "bad" : "";
    heatmap(v); agents(v); stalled(v); detail(v);
  }
  function poll() {
    fetch("mesh.json", { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("mesh.json: HTTP " + r.status);
      return r.json();
    }).then(function (v) { $("err").textContent = ""; render(v); },
      function (e) { $("err").textContent = "refresh failed: " + e.message; })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-agent]");
    if (!t) return;
    selected = Number(t.dataset.agent);
    if (last) render(last);
  });
  poll();
})();
