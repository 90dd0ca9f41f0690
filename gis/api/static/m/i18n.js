/* 网格通 field app: the strings a person reads, simplified Chinese first, English by a switch.
   Wg.i18n.add({zh: {...}, en: {...}}) adds strings; Wg.t(key, params) reads one ({name} is
   replaced from params); Wg.i18n.apply(root) fills [data-t], [data-t-ph] and [data-t-title]. */
(function () {
  "use strict";
  var Wg = (window.Wg = window.Wg || {});
  var dict = { zh: {}, en: {} };
  var current = "zh";
  try {
    current = localStorage.getItem("wg.lang") === "en" ? "en" : "zh";
  } catch (e) { /* private mode: Chinese */ }

  function add(more) {
    Object.keys(more || {}).forEach(function (lang) {
      dict[lang] = dict[lang] || {};
      Object.assign(dict[lang], more[lang]);
    });
  }

  function t(key, params) {
    var s = dict[current][key];
    if (s === undefined) s = dict.zh[key];
    if (s === undefined) s = key;
    if (params) {
      s = s.replace(/\{(\w+)\}/g, function (m, k) {
        return params[k] === undefined || params[k] === null ? "" : String(params[k]);
      });
    }
    return s;
  }

  function apply(root) {
    root = root || document;
    root.querySelectorAll("[data-t]").forEach(function (el) {
      el.textContent = t(el.getAttribute("data-t"));
    });
    root.querySelectorAll("[data-t-ph]").forEach(function (el) {
      el.setAttribute("placeholder", t(el.getAttribute("data-t-ph")));
    });
    root.querySelectorAll("[data-t-title]").forEach(function (el) {
      el.setAttribute("title", t(el.getAttribute("data-t-title")));
    });
  }

  function setLang(lang) {
    current = lang === "en" ? "en" : "zh";
    try { localStorage.setItem("wg.lang", current); } catch (e) { /* ignore */ }
    document.documentElement.lang = current === "en" ? "en" : "zh-CN";
  }

  Wg.i18n = { add: add, apply: apply, setLang: setLang, has: function (k) { return k in dict.zh; } };
  Wg.t = t;
  Wg.lang = function () { return current; };

  add({
    zh: {
      "app.title": "网格通",
      "app.online": "在线",
      "app.offline": "离线",
      "app.pending": "待发送 {n} 条",
      "app.refused": "被退回 {n} 条",
      "app.lang_switch": "EN",
      "app.tz": "北京时间",
      "tab.map": "我的网格",
      "tab.report": "上报",
      "tab.tasks": "待办",
      "tab.patrol": "巡查",
      "tab.me": "我的",
      "login.title": "网格员登录",
      "login.username": "用户名",
      "login.password": "密码",
      "login.submit": "登录",
      "login.busy": "正在登录…",
      "login.offline": "当前离线，无法登录；请连上网络后再试",
      "login.empty": "请输入用户名和密码",
      "pw.title": "修改密码",
      "pw.forced": "首次登录，请先修改初始密码",
      "pw.old": "原密码",
      "pw.new": "新密码",
      "pw.repeat": "再次输入新密码",
      "pw.submit": "确认修改",
      "pw.mismatch": "两次输入的新密码不一致",
      "pw.short": "新密码至少 8 位",
      "pw.done": "密码已修改",
      "me.user": "当前用户",
      "me.name": "姓名",
      "me.role": "角色",
      "me.worker": "网格员编号",
      "me.grid": "网格",
      "me.lang": "语言 / Language",
      "me.logout": "退出登录",
      "me.queue": "待发送的上报",
      "me.queue_empty": "没有待发送的上报",
      "me.sent": "已发送",
      "me.sent_empty": "暂无",
      "me.expires": "登录有效期至",
      "role.grid_worker": "网格员",
      "role.community_dispatcher": "社区调度员",
      "role.street_dispatcher": "街道调度员",
      "role.district_centre": "区指挥中心",
      "role.planner": "规划人员",
      "role.department": "职能部门",
      "toast.logged_out": "已退出登录",
      "toast.online": "网络已恢复，正在发送待发送的上报",
      "toast.offline": "已离线：上报会先保存在手机上，联网后自动发送",
      "err.bad_credentials": "用户名或密码错误",
      "err.account_locked": "账号已锁定（连续输错密码），请 15 分钟后再试或联系管理员",
      "err.account_disabled": "账号已停用，请联系管理员",
      "err.unauthorized": "登录已失效，请重新登录",
      "err.token_expired": "登录已过期，请重新登录",
      "err.password_change_required": "请先修改初始密码",
      "err.weak_password": "新密码太简单，请换一个更长、更难猜的密码",
      "err.wrong_password": "原密码不正确",
      "err.photo_too_large": "照片太大（超过 8 MB），请重新拍摄或换一张",
      "err.not_an_image": "文件不是图片",
      "err.too_many_attachments": "照片太多（最多 9 张）",
      "err.no_fix": "无法获取 GPS 定位：请到开阔处再试，或在地图上拖动图钉",
      "err.no_position": "还没有位置：请点“定位”，或在地图上拖动图钉",
      "err.unknown_item": "事件小类不存在或已停用，请重新选择",
      "err.unknown_source": "来源不正确",
      "err.future_time": "上报时间在将来，请检查手机时间",
      "err.event_not_found": "事件不存在或不在您的网格内",
      "err.outside_area": "不在您的网格内",
      "err.invalid_input": "填写有误：{msg}",
      "err.rate_limited": "操作太频繁，请稍后再试",
      "err.service_unavailable": "服务器暂时不可用，稍后自动重试",
      "err.forbidden": "您没有权限执行此操作",
      "err.offline": "当前离线",
      "err.http": "请求失败（{status}）",
      "err.item_required": "请选择事件小类",
      "err.description_required": "请填写问题描述"
    },
    en: {
      "app.title": "Wangge Field",
      "app.online": "Online",
      "app.offline": "Offline",
      "app.pending": "{n} waiting to send",
      "app.refused": "{n} refused",
      "app.lang_switch": "中文",
      "app.tz": "China Standard Time",
      "tab.map": "My grid",
      "tab.report": "Report",
      "tab.tasks": "Tasks",
      "tab.patrol": "Patrol",
      "tab.me": "Me",
      "login.title": "Grid worker log-in",
      "login.username": "User name",
      "login.password": "Password",
      "login.submit": "Log in",
      "login.busy": "Logging in…",
      "login.offline": "You are offline; connect to log in",
      "login.empty": "Enter your user name and password",
      "pw.title": "Change password",
      "pw.forced": "First log-in: change the initial password first",
      "pw.old": "Current password",
      "pw.new": "New password",
      "pw.repeat": "New password again",
      "pw.submit": "Change",
      "pw.mismatch": "The two new passwords differ",
      "pw.short": "At least 8 characters",
      "pw.done": "Password changed",
      "me.user": "User",
      "me.name": "Name",
      "me.role": "Role",
      "me.worker": "Worker code",
      "me.grid": "Grid",
      "me.lang": "Language / 语言",
      "me.logout": "Log out",
      "me.queue": "Reports waiting to send",
      "me.queue_empty": "Nothing waiting",
      "me.sent": "Sent",
      "me.sent_empty": "None yet",
      "me.expires": "Logged in until",
      "role.grid_worker": "Grid worker",
      "role.community_dispatcher": "Community dispatcher",
      "role.street_dispatcher": "Street dispatcher",
      "role.district_centre": "District centre",
      "role.planner": "Planner",
      "role.department": "Department",
      "toast.logged_out": "Logged out",
      "toast.online": "Back online: sending the waiting reports",
      "toast.offline": "Offline: reports are kept on the phone and sent when online",
      "err.bad_credentials": "Wrong user name or password",
      "err.account_locked": "Account locked (too many wrong passwords); try again in 15 minutes",
      "err.account_disabled": "Account disabled; ask the administrator",
      "err.unauthorized": "Your session has ended; log in again",
      "err.token_expired": "Your session has expired; log in again",
      "err.password_change_required": "Change the initial password first",
      "err.weak_password": "The new password is too weak",
      "err.wrong_password": "The current password is wrong",
      "err.photo_too_large": "Photo too large (over 8 MB)",
      "err.not_an_image": "Not an image",
      "err.too_many_attachments": "Too many photos (9 at most)",
      "err.no_fix": "No GPS fix: try in the open, or drag the pin on the map",
      "err.no_position": "No position yet: tap Locate or drag the pin",
      "err.unknown_item": "Unknown or withdrawn event item; choose another",
      "err.unknown_source": "Wrong source",
      "err.future_time": "The report time is in the future; check the phone's clock",
      "err.event_not_found": "No such event in your grid",
      "err.outside_area": "Outside your grid",
      "err.invalid_input": "Invalid input: {msg}",
      "err.rate_limited": "Too many requests; try again later",
      "err.service_unavailable": "Server unavailable; will retry",
      "err.forbidden": "You may not do this",
      "err.offline": "Offline",
      "err.http": "Request failed ({status})",
      "err.item_required": "Choose an event item",
      "err.description_required": "Describe the problem"
    }
  });
  setLang(current);
})();
