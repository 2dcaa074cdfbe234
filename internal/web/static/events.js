// The live feed: append each event the server sends (same fields as the MQTT events), newest on top.
(function () {
  "use strict";
  var body = document.getElementById("feed");
  var state = document.getElementById("feed-state");
  var seen = {};
  Array.prototype.forEach.call(body.querySelectorAll("tr[data-key]"), function (tr) { seen[tr.dataset.key] = true; });
  function cell(tr, text) { var td = document.createElement("td"); td.textContent = text == null ? "" : String(text); tr.appendChild(td); }
  function add(key, cells, cls) {
    if (seen[key]) { return; }
    seen[key] = true;
    var tr = document.createElement("tr");
    tr.dataset.key = key;
    if (cls) { tr.className = cls; }
    cells.forEach(function (c) { cell(tr, c); });
    body.insertBefore(tr, body.firstChild);
  }
  var es = new EventSource("/events/stream");
  es.onopen = function () { state.textContent = "已连接"; };
  es.onerror = function () { state.textContent = "连接中断，正在重连…"; };
  es.addEventListener("event", function (m) {
    var e = JSON.parse(m.data);
    var note = (e.excused ? "已登记 " : "") + (e.retracted ? "已撤回 " : "") + (e.rev > 1 ? "更正 #" + e.rev : "");
    add(e.id + "/" + e.rev, [e.judged_at, e.kind, e.name + " " + e.user_id, e.unit, e.date, e.slot,
      e.expected + " / " + (e.actual || "—"), e.minutes, e.severity, note]);
  });
  es.addEventListener("audit", function (m) {
    var a = JSON.parse(m.data);
    add(a.id, [a.at, "操作", a.who, "", "", "", "", "", "", a.action + " " + (a.target || "") + " " + (a.detail || "")], "audit");
  });
})();
