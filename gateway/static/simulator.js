// The web phone: each hop goes to /simulator/ussd (the gateway's JSON dialect); the inbox is read
// from /simulator/inbox. No library, no inline script (the page's policy forbids both).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const sim = $("sim");
  if (!sim) return;
  const screen = $("screen"), answer = $("answer"), send = $("send"), drop = $("drop");
  const select = $("msisdn"), custom = $("custom"), code = $("code");
  let session = null, hop = 0, busy = false, shownInbox = "";

  function number() {
    return (select.value || custom.value || "").trim();
  }

  function live(on) {
    answer.disabled = !on;
    send.disabled = !on;
    drop.disabled = !on;
    screen.classList.toggle("ended", !on);
    if (on) answer.focus();
  }

  function show(text, ended) {
    screen.textContent = text;
    if (ended) {
      const mark = document.createElement("div");
      mark.className = "note";
      mark.textContent = "— " + sim.dataset.ended + " —";
      screen.append(mark);
    }
  }

  async function post(text, event) {
    const body = { session_id: session, msisdn: number(), service_code: code.value, text: text, event: event, hop: hop };
    const r = await fetch("/simulator/ussd", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await r.json();
    if (!r.ok) throw new Error(data.message || r.status);
    return data;
  }

  async function hopWith(text, event) {
    if (busy) return;
    busy = true;
    try {
      const reply = await post(text, event);
      show(reply.text, reply.end);
      live(!reply.end);
      if (reply.end) session = null;
    } catch (err) {
      show(sim.dataset.failed + ": " + err.message, true);
      live(false);
      session = null;
    } finally {
      busy = false;
      refreshInbox();
    }
  }

  $("dial-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    session = "web-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    hop = 0;
    hopWith("", "new");
  });

  $("answer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!session) return;
    const text = answer.value;
    answer.value = "";
    hop += 1;
    hopWith(text, "continue");
  });

  for (const key of document.querySelectorAll(".keypad .key")) {
    key.addEventListener("click", () => {
      if (answer.disabled) return;
      answer.value += key.dataset.key;
      answer.focus();
    });
  }

  drop.addEventListener("click", async () => {
    if (!session) return;
    hop += 1;
    try { await post("", "end"); } catch (err) { /* a dropped call needs no answer */ }
    session = null;
    live(false);
    show(sim.dataset.dropped, false);
  });

  select.addEventListener("change", () => {
    custom.hidden = select.value !== "";
    shownInbox = "";
    refreshInbox();
  });
  custom.addEventListener("change", refreshInbox);

  async function refreshInbox() {
    const msisdn = number();
    $("inbox-number").textContent = msisdn;
    const list = $("inbox");
    if (!msisdn) { list.textContent = ""; return; }
    let data;
    try {
      const r = await fetch("/simulator/inbox?msisdn=" + encodeURIComponent(msisdn));
      if (!r.ok) return;
      data = await r.json();
    } catch (err) { return; }
    const key = msisdn + JSON.stringify(data.messages);
    if (key === shownInbox) return;  // unchanged: keep the reader's selection
    shownInbox = key;
    list.textContent = "";
    if (!data.messages.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = sim.dataset.empty;
      list.append(li);
    }
    for (const m of data.messages) {
      const li = document.createElement("li");
      li.className = "sms";
      li.dir = "auto";
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = m.text;
      const at = document.createElement("time");
      at.dateTime = m.at;
      at.textContent = m.at.replace("T", " ").replace("+00:00", " UTC");
      li.append(text, at);
      list.append(li);
    }
  }

  refreshInbox();
  setInterval(refreshInbox, 1500);
})();
