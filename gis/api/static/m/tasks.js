/* 网格通 field app, tab "tasks" (待办 / 已办): the events assigned to me, their detail and
   history, and the actions on them (受理, 开始处置, 办结 with a result photo, 申请上报, 退回).
   Actions need the network: offline the app says so and queues nothing (reports and patrols
   are the offline features). Uses the shell's contract (window.Wg, core.js). */
(function () {
  "use strict";
  const Wg = window.Wg;

  Wg.i18n.add({
    zh: {
      "tasks.todo": "待办", "tasks.done": "已办", "tasks.refresh": "刷新",
      "tasks.empty_todo": "暂无待办事件", "tasks.empty_done": "暂无已办事件",
      "tasks.loading": "正在加载…", "tasks.load_failed": "加载失败：{msg}",
      "tasks.offline": "当前离线：处置操作需要网络，请连上网络后再试",
      "tasks.offline_list": "当前离线，无法获取最新的事件列表",
      "tasks.due": "期限 {time}", "tasks.overdue": "超期", "tasks.no_due": "未定期限",
      "tasks.reported": "上报于 {time}", "tasks.back": "‹ 返回",
      "tasks.description": "描述", "tasks.place": "位置", "tasks.photos": "照片",
      "tasks.no_photos": "没有照片", "tasks.history": "处置记录", "tasks.actions": "操作",
      "tasks.no_actions": "当前没有可执行的操作",
      "tasks.note": "说明", "tasks.reason": "理由（必填）",
      "tasks.result_note": "处置结果说明", "tasks.result_photo": "处置结果照片（必拍）",
      "tasks.photo_required": "请拍一张处置结果照片", "tasks.note_required": "请填写理由",
      "tasks.submit": "提交", "tasks.cancel": "取消", "tasks.busy": "正在提交…",
      "tasks.photo_failed": "事件已办结，但照片上传失败：{msg}",
      "tasks.photo_retry": "重新上传照片",
      "tasks.acted": "已{action}",
      "tasks.grid": "网格 {code}", "tasks.unit": "单元 {code}",
      "tasks.tz_note": "时间均为北京时间",
      "act.accept": "受理", "act.start": "开始处置", "act.resolve": "办结",
      "act.ask_escalate": "申请上报", "act.reject": "退回", "act.report": "上报",
      "act.dispatch": "派遣", "act.close": "结案", "act.reopen": "重新办理",
      "act.escalate": "升级", "act.whistle": "吹哨", "act.mark_duplicate": "标记重复",
      "act.acknowledge": "签收", "act.escalated": "升级", "act.reported": "上报",
      "act.reassigned": "重新分派", "act.duplicate_dismissed": "排除重复",
      "st.reported": "待受理", "st.accepted": "已受理", "st.dispatched": "已派遣",
      "st.in_progress": "处置中", "st.resolved": "已办结", "st.closed": "已结案",
      "st.rejected": "已退回", "st.duplicate": "重复事件", "st.reopened": "重新办理",
      "lv.grid": "网格", "lv.community": "社区", "lv.street": "街道", "lv.district": "区",
    },
    en: {
      "tasks.todo": "To do", "tasks.done": "Done", "tasks.refresh": "Refresh",
      "tasks.empty_todo": "Nothing to do", "tasks.empty_done": "Nothing done yet",
      "tasks.loading": "Loading…", "tasks.load_failed": "Could not load: {msg}",
      "tasks.offline": "Offline: actions need the network; try again when online",
      "tasks.offline_list": "Offline: the list cannot be refreshed",
      "tasks.due": "Due {time}", "tasks.overdue": "Overdue", "tasks.no_due": "No due time",
      "tasks.reported": "Reported {time}", "tasks.back": "‹ Back",
      "tasks.description": "Description", "tasks.place": "Place", "tasks.photos": "Photos",
      "tasks.no_photos": "No photos", "tasks.history": "History", "tasks.actions": "Actions",
      "tasks.no_actions": "No action possible now",
      "tasks.note": "Note", "tasks.reason": "Reason (required)",
      "tasks.result_note": "What was done", "tasks.result_photo": "Photo of the result (required)",
      "tasks.photo_required": "Take a photo of the result", "tasks.note_required": "Give a reason",
      "tasks.submit": "Submit", "tasks.cancel": "Cancel", "tasks.busy": "Sending…",
      "tasks.photo_failed": "Resolved, but the photo did not upload: {msg}",
      "tasks.photo_retry": "Upload the photo again",
      "tasks.acted": "Done: {action}",
      "tasks.grid": "Grid {code}", "tasks.unit": "Unit {code}",
      "tasks.tz_note": "Times are China Standard Time",
      "act.accept": "Accept", "act.start": "Start", "act.resolve": "Resolve",
      "act.ask_escalate": "Ask to escalate", "act.reject": "Reject", "act.report": "Report",
      "act.dispatch": "Dispatch", "act.close": "Close", "act.reopen": "Reopen",
      "act.escalate": "Escalate", "act.whistle": "Whistle", "act.mark_duplicate": "Duplicate",
      "act.acknowledge": "Acknowledged", "act.escalated": "Escalated", "act.reported": "Reported",
      "act.reassigned": "Reassigned", "act.duplicate_dismissed": "Not a duplicate",
      "st.reported": "New", "st.accepted": "Accepted", "st.dispatched": "Dispatched",
      "st.in_progress": "In progress", "st.resolved": "Resolved", "st.closed": "Closed",
      "st.rejected": "Rejected", "st.duplicate": "Duplicate", "st.reopened": "Reopened",
      "lv.grid": "grid", "lv.community": "community", "lv.street": "street",
      "lv.district": "district",
    },
  });

  // Actions a worker takes in the field app, in button order; dispatching, closing and
  // duplicates are the dispatchers' work (their console), not the phone's.
  const FIELD_ACTIONS = ["accept", "start", "resolve", "ask_escalate", "reject"];
  const NEEDS_NOTE = { ask_escalate: true, reject: true };
  // the mini map comes and goes with the detail view: no animation left running on removal
  const NO_ANIMATION = { zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false };
  const OPEN = ["reported", "accepted", "dispatched", "in_progress", "reopened"];

  const CSS = `
.wt-root{padding:8px 10px 16px;font-size:15px}
.wt-switch{display:flex;gap:6px;margin-bottom:8px}
.wt-switch button{flex:1;padding:8px;border:1px solid #1565c0;background:#fff;color:#1565c0;
  border-radius:6px;font-size:15px}
.wt-switch button.on{background:#1565c0;color:#fff}
.wt-card{border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0;background:#fff}
.wt-card h3{margin:0 0 4px;font-size:16px;display:flex;justify-content:space-between;gap:6px}
.wt-st{font-size:12px;padding:2px 6px;border-radius:10px;background:#e3f2fd;color:#0d47a1;
  white-space:nowrap}
.wt-od{font-size:12px;padding:2px 6px;border-radius:10px;background:#c62828;color:#fff;
  margin-left:4px}
.wt-meta{color:#555;font-size:13px;margin:2px 0}
.wt-map{height:180px;border-radius:8px;margin:6px 0;background:#eef}
.wt-sec{margin:12px 0 4px;font-weight:bold}
.wt-hist{list-style:none;padding:0;margin:0}
.wt-hist li{border-left:3px solid #90caf9;padding:2px 8px;margin:6px 0;font-size:13px}
.wt-photos{display:flex;flex-wrap:wrap;gap:6px}
.wt-photos img{width:96px;height:96px;object-fit:cover;border-radius:6px;background:#eee}
.wt-acts{display:flex;flex-wrap:wrap;gap:8px}
.wt-acts button,.wt-form button{padding:10px 14px;font-size:15px;border-radius:6px;
  border:none;background:#1565c0;color:#fff}
.wt-acts button.alt,.wt-form button.alt{background:#eceff1;color:#333}
.wt-form{border:1px solid #90caf9;border-radius:8px;padding:8px;margin:8px 0;background:#f5faff}
.wt-form textarea{width:100%;box-sizing:border-box;min-height:64px;font-size:15px}
.wt-form label{display:block;margin:6px 0 2px}
.wt-form .wt-row{display:flex;gap:8px;margin-top:8px}
.wt-preview{max-width:120px;max-height:120px;display:block;margin-top:4px}
.wt-msg{color:#555;padding:12px 0}
.wt-back{border:none;background:none;color:#1565c0;font-size:16px;padding:4px 0}
.wt-tz{color:#777;font-size:12px}
`;

  const state = { list: "todo", items: [], root: null, detailId: null, map: null, names: {} };

  function h(tag, attrs, kids) {
    const el = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === undefined || v === null || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach((c) => c && el.appendChild(typeof c === "string"
      ? document.createTextNode(c) : c));
    return el;
  }

  const t = (k, p) => Wg.t(k, p);
  const label = (prefix, code) => {
    const key = prefix + code;
    return Wg.i18n.has && !Wg.i18n.has(key) ? code : t(key);
  };
  const time = (iso) => (iso ? Wg.fmtTime(iso) : "");

  function css() {
    if (document.getElementById("wt-css")) return;
    document.head.appendChild(h("style", { id: "wt-css", text: CSS }));
  }

  function dropMap() {
    const m = state.map;
    state.map = null;
    // the shell draws my grid on the map when its data comes: remove the map after that
    if (m) Promise.resolve(m.wgReady).catch(() => {}).then(() => { try { m.remove(); } catch (e) { /* gone */ } });
  }

  function message(text) {
    return h("div", { class: "wt-msg", text });
  }

  /* The item's name in the person's language (the list gives the Chinese one). */
  function itemName(code, zh) {
    return (Wg.lang() === "en" && state.names[code]) || zh || code;
  }

  /* English item names from the public catalogue, once (the service worker keeps it). */
  async function loadNames() {
    if (Wg.lang() !== "en" || Object.keys(state.names).length) return;
    try {
      const res = await Wg.api("GET", "/api/v1/catalogue");
      if (!res.ok) return;
      (res.data.classes || []).forEach((c) => (c.items || []).forEach((i) => {
        state.names[i.code] = i.name;
      }));
    } catch (e) { /* offline: the Chinese names stay */ }
  }

  async function fetchList(which) {
    await loadNames();
    const res = await Wg.api("GET", "/api/v1/me/tasks?list=" + which);
    if (!res.ok) throw new Error(Wg.errorText(res.data));
    return res.data.items || [];
  }

  async function showList() {
    state.detailId = null;
    dropMap();
    const root = state.root;
    if (!root) return;
    const box = h("div", { class: "wt-list", "data-list": state.list },
      [message(t("tasks.loading"))]);
    root.replaceChildren(h("div", { class: "wt-root" }, [
      h("div", { class: "wt-switch" }, ["todo", "done"].map((w) => h("button", {
        type: "button", class: state.list === w ? "on" : "", "data-list": w,
        text: t("tasks." + w), onclick: () => { state.list = w; showList(); } }))),
      h("div", { class: "wt-tz", text: t("tasks.tz_note") }),
      box,
    ]));
    try {
      state.items = await fetchList(state.list);
    } catch (e) {
      box.replaceChildren(message(e.offline ? t("tasks.offline_list")
        : t("tasks.load_failed", { msg: e.message })));
      return;
    }
    if (state.detailId !== null) return; // the person opened a card meanwhile
    box.replaceChildren(...(state.items.length ? state.items.map(card)
      : [message(t(state.list === "todo" ? "tasks.empty_todo" : "tasks.empty_done"))]));
  }

  function card(it) {
    return h("div", { class: "wt-card", "data-event": it.id, role: "button",
      onclick: () => showDetail(it.id) }, [
      h("h3", {}, [h("span", { text: itemName(it.item, it.item_name) }),
        h("span", {}, [h("span", { class: "wt-st", "data-status": it.status,
          text: label("st.", it.status) }),
        it.overdue ? h("span", { class: "wt-od", text: t("tasks.overdue") }) : null])]),
      h("div", { class: "wt-meta", text: it.due_at ? t("tasks.due", { time: time(it.due_at) })
        : t("tasks.no_due") }),
      h("div", { class: "wt-meta", text: place(it) }),
      it.description ? h("div", { class: "wt-meta", text: it.description }) : null,
    ]);
  }

  function place(it) {
    const bits = [];
    if (it.address) bits.push(it.address);
    if (it.grid) bits.push(t("tasks.grid", { code: it.grid }));
    if (it.unit) bits.push(t("tasks.unit", { code: it.unit }));
    return bits.join(" · ");
  }

  /* The task as the lists give it now (its allowed actions: fresh, someone may have acted),
     else null. */
  async function findTask(id) {
    const order = state.list === "todo" ? ["todo", "done"] : ["done", "todo"];
    for (const which of order) {
      const items = await fetchList(which);
      if (which === state.list) state.items = items;
      const hit = items.find((x) => x.id === id);
      if (hit) return hit;
    }
    return null;
  }

  async function showDetail(id) {
    state.detailId = id;
    dropMap();
    const root = state.root;
    root.replaceChildren(h("div", { class: "wt-root" }, [message(t("tasks.loading"))]));
    let task, ev;
    try {
      task = await findTask(id);
      const res = await Wg.api("GET", "/api/v1/events/" + id);
      if (!res.ok) throw new Error(Wg.errorText(res.data));
      ev = res.data;
    } catch (e) {
      if (state.detailId !== id) return;
      Wg.toast(e.offline ? t("tasks.offline") : e.message, "error");
      showList();
      return;
    }
    if (state.detailId !== id) return;
    drawDetail(task, ev);
  }

  function drawDetail(task, ev) {
    const status = ev.status;
    const mapEl = h("div", { class: "wt-map" });
    const photos = h("div", { class: "wt-photos" }, [message(t("tasks.loading"))]);
    const acts = (task ? task.allowed_actions || [] : [])
      .filter((a) => FIELD_ACTIONS.includes(a))
      .sort((a, b) => FIELD_ACTIONS.indexOf(a) - FIELD_ACTIONS.indexOf(b));
    const formBox = h("div", {});
    const view = h("div", { class: "wt-root wt-detail", "data-event": ev.id,
      "data-status": status }, [
      h("button", { type: "button", class: "wt-back", text: t("tasks.back"),
        onclick: () => showList() }),
      h("div", { class: "wt-card" }, [
        h("h3", {}, [h("span", { text: itemName(ev.item_code, task && task.item_name) }),
          h("span", {}, [h("span", { class: "wt-st", "data-status": status,
            text: label("st.", status) }),
          task && task.overdue ? h("span", { class: "wt-od", text: t("tasks.overdue") })
            : null])]),
        h("div", { class: "wt-meta", text: "#" + ev.id + " · " + label("lv.", ev.level || "") }),
        h("div", { class: "wt-meta", text: t("tasks.reported", { time: time(ev.reported_at) })
          + " (" + Wg.tz + ")" }),
        h("div", { class: "wt-meta", text: ev.due_at ? t("tasks.due", {
          time: time(ev.due_at) }) + " (" + Wg.tz + ")" : t("tasks.no_due") }),
      ]),
      h("div", { class: "wt-sec", text: t("tasks.actions") }),
      acts.length ? h("div", { class: "wt-acts" }, acts.map((a) => h("button", {
        type: "button", "data-action": a, class: a === "reject" ? "alt" : "",
        text: t("act." + a), onclick: () => openForm(formBox, ev, a) })))
        : message(t("tasks.no_actions")),
      formBox,
      h("div", { class: "wt-sec", text: t("tasks.description") }),
      h("div", { text: ev.description || "—" }),
      h("div", { class: "wt-sec", text: t("tasks.place") }),
      h("div", { class: "wt-meta", text: place({ address: ev.address, grid: ev.grid_code,
        unit: ev.unit_code }) }),
      mapEl,
      h("div", { class: "wt-sec", text: t("tasks.photos") }), photos,
      h("div", { class: "wt-sec", text: t("tasks.history") + " (" + Wg.tz + ")" }),
      history(ev.history || []),
    ]);
    state.root.replaceChildren(view);
    miniMap(mapEl, ev);
    loadPhotos(photos, ev.id);
  }

  function history(rows) {
    return h("ul", { class: "wt-hist" }, rows.map((r) => h("li", { "data-action": r.action }, [
      h("div", {}, [h("b", { text: label("act.", r.action) }), " " + time(r.at)]),
      h("div", { class: "wt-meta", text: [r.actor, r.to_status && r.to_status !== r.from_status
        ? "→ " + label("st.", r.to_status) : ""].filter(Boolean).join(" ") }),
      r.note ? h("div", { text: r.note }) : null,
    ])));
  }

  function miniMap(el, ev) {
    if (ev.lon === null || ev.lon === undefined || !Wg.maps) return;
    try {
      const map = Wg.maps.create(el, { leaflet: NO_ANIMATION });
      state.map = map;
      const ll = [ev.lat, ev.lon];
      window.L.circleMarker(ll, { radius: 9, color: "#c62828", weight: 3,
        fillOpacity: 0.6 }).addTo(map);
      map.setView(ll, 17, { animate: false });
      // the shell's map fits my grid once loaded: the event's point stays in the middle
      if (map.wgReady) map.wgReady.then(() => { if (state.map === map) map.setView(ll, 17, { animate: false }); });
    } catch (e) { el.remove(); }
  }

  async function loadPhotos(box, id) {
    let list = [];
    try {
      const res = await Wg.api("GET", "/api/v1/events/" + id + "/attachments");
      if (res.ok) list = (res.data && res.data.attachments) || [];
    } catch (e) { /* offline: no photos shown */ }
    const photos = list.filter((a) => !a.kind || a.kind === "photo");
    box.replaceChildren(...(photos.length ? [] : [message(t("tasks.no_photos"))]));
    for (const a of photos) {
      const img = h("img", { alt: a.step || "", "data-step": a.step || "",
        title: a.step ? label("act.", a.step) : "" });
      box.appendChild(img);
      Wg.blobUrl(a.thumb_url || a.url).then((u) => { img.src = u; }, () => {});
    }
  }

  function openForm(box, ev, action) {
    if (!Wg.online()) { Wg.toast(t("tasks.offline"), "error"); return; }
    if (action === "resolve") { box.replaceChildren(resolveForm(box, ev)); return; }
    if (!NEEDS_NOTE[action]) { run(ev.id, action, null, null); return; }
    const note = h("textarea", { name: "note", maxlength: "2000" });
    const form = h("form", { class: "wt-form", "data-form": action }, [
      h("label", { text: t("act." + action) + " · " + t("tasks.reason") }), note,
      h("div", { class: "wt-row" }, [
        h("button", { type: "submit", text: t("tasks.submit") }),
        h("button", { type: "button", class: "alt", text: t("tasks.cancel"),
          onclick: () => box.replaceChildren() })]),
    ]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!note.value.trim()) { Wg.toast(t("tasks.note_required"), "error"); return; }
      run(ev.id, action, note.value.trim(), form);
    });
    box.replaceChildren(form);
    note.focus();
  }

  function resolveForm(box, ev) {
    const file = h("input", { type: "file", name: "photo", accept: "image/*",
      capture: "environment" });
    const preview = h("img", { class: "wt-preview", hidden: true });
    const note = h("textarea", { name: "note", maxlength: "2000" });
    file.addEventListener("change", () => {
      const f = file.files[0];
      if (preview.src) URL.revokeObjectURL(preview.src);
      if (f) { preview.src = URL.createObjectURL(f); preview.hidden = false; }
    });
    const form = h("form", { class: "wt-form", "data-form": "resolve" }, [
      h("label", { text: t("tasks.result_photo") }), file, preview,
      h("label", { text: t("tasks.result_note") }), note,
      h("div", { class: "wt-row" }, [
        h("button", { type: "submit", text: t("act.resolve") }),
        h("button", { type: "button", class: "alt", text: t("tasks.cancel"),
          onclick: () => box.replaceChildren() })]),
    ]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = file.files[0];
      if (!f) { Wg.toast(t("tasks.photo_required"), "error"); return; }
      run(ev.id, "resolve", note.value.trim() || null, form, f);
    });
    return form;
  }

  /* Where the person is, if the phone says so quickly (recorded with the action). */
  async function here() {
    try {
      return Wg.geo ? await Wg.geo.current({ timeout: 3000 }) : null;
    } catch (e) { return null; }
  }

  function busy(form, on) {
    if (!form) return;
    form.querySelectorAll("button,textarea,input").forEach((b) => { b.disabled = on; });
  }

  async function send(id, action, note) {
    if (action === "ask_escalate") {
      return Wg.api("POST", "/api/v1/events/" + id + "/escalation-request",
        { json: { note } });
    }
    const body = { action };
    if (note) body.note = note;
    const pos = await here();
    if (pos) { body.lon = pos.lon; body.lat = pos.lat; }
    return Wg.api("POST", "/api/v1/events/" + id + "/transitions", { json: body });
  }

  async function run(id, action, note, form, photo) {
    if (!Wg.online()) { Wg.toast(t("tasks.offline"), "error"); return; }
    busy(form, true);
    let res;
    try {
      res = await send(id, action, note);
    } catch (e) {
      busy(form, false);
      Wg.toast(e.offline ? t("tasks.offline") : e.message, "error");
      return;
    }
    if (!res.ok) {
      // someone acted meanwhile (409), the event left my area (404), ...: say so, refresh
      Wg.toast(Wg.errorText(res.data), "error");
      if (res.status === 404) showList(); else showDetail(id);
      return;
    }
    if (photo && !(await upload(id, photo, form))) return;
    Wg.toast(t("tasks.acted", { action: t("act." + action) }), "ok");
    showDetail(id);
  }

  /* The result photo, after the resolve transition; false (and a retry button) on failure. */
  async function upload(id, photo, form) {
    const fd = new FormData();
    fd.append("file", photo, photo.name || "resolve.jpg");
    fd.append("step", "resolve");
    let msg;
    try {
      const res = await Wg.api("POST", "/api/v1/events/" + id + "/attachments", { form: fd });
      if (res.ok) return true;
      msg = Wg.errorText(res.data);
    } catch (e) {
      msg = e.offline ? t("tasks.offline") : e.message;
    }
    Wg.toast(t("tasks.photo_failed", { msg }), "error");
    if (form) {
      const row = h("div", { class: "wt-row" }, [h("button", { type: "button",
        "data-retry": "photo", text: t("tasks.photo_retry"),
        onclick: async () => {
          if (await upload(id, photo, null)) showDetail(id);
        } })]);
      form.replaceChildren(h("div", { text: t("tasks.photo_failed", { msg }) }), row);
    }
    return false;
  }

  function rerender() {
    if (!state.root) return;
    if (state.detailId !== null) showDetail(state.detailId); else showList();
  }

  Wg.registerTab("tasks", {
    labelKey: "tab.tasks", icon: "☑", order: 30,
    render(el) { css(); state.root = el; state.fresh = true; showList(); },
    onShow() {
      if (state.fresh) { state.fresh = false; return; } // render just drew the list
      if (state.root && state.detailId === null) showList();
    },
  });
  Wg.on("lang", rerender);
  Wg.on("logout", () => { dropMap(); state.root = null; state.detailId = null; state.items = []; });
  Wg.tasks = { refresh: rerender, open: showDetail, OPEN };
})();
