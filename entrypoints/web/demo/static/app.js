// platform-sessions demo: live updates by server-sent events, and a per-tab platform override.
// Plain JavaScript, no build step. The server renders the page shells; this fills them in.
"use strict";

// The override belongs to one tab: sessionStorage is per tab, and the server never stores it.
const OVERRIDE_KEY = "platform-sessions.demo.override";
const EVENT_NAMES = [
  "SessionStarted",
  "PlatformSwitched",
  "SessionRotated",
  "SessionEnded",
  "UserSessionsEnded",
  "PlatformConnectionChanged",
];

const page = document.body.dataset.page;
const mySession = document.body.dataset.session;
let platformNames = {};

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function overridePlatform() {
  return sessionStorage.getItem(OVERRIDE_KEY);
}

function goToLogin(reason) {
  window.location.assign("/login?reason=" + encodeURIComponent(reason));
}

// Every API call carries the tab's override, and unsafe ones the session's CSRF token.
async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const override = overridePlatform();
  if (override) headers["X-Platform-Id"] = override;
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  if (response.status === 401) {
    goToLogin("expired");
    throw new Error("logged out");
  }
  return response;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "className") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function showError(text) {
  const box = document.getElementById("dashboard-error");
  if (!box) return;
  box.textContent = text;
  box.hidden = !text;
}

// --- the platforms page ---------------------------------------------------------------

function platformItem(platform, state) {
  const isSessionActive = platform.id === state.session.active_platform_id;
  const isThisTab = platform.id === state.tab.platform_id;
  const classes = [isSessionActive ? "active" : "", platform.is_active ? "" : "inactive"].join(" ");
  const badges = [];
  if (isSessionActive) badges.push(element("span", { className: "badge" }, "active in session"));
  if (isThisTab && state.tab.is_override) badges.push(element("span", { className: "badge tab" }, "this tab"));
  if (platform.is_default) badges.push(element("span", { className: "badge off" }, "default"));
  if (!platform.is_active) badges.push(element("span", { className: "badge off" }, "deactivated"));

  const switchButton = element(
    "button",
    {
      type: "button",
      className: "secondary switch",
      "data-platform": platform.id,
      onclick: () => switchTo(platform.id),
    },
    "Switch to it",
  );
  switchButton.disabled = isSessionActive || !platform.is_active;
  const ownTab = platform.is_active
    ? element("a", { href: "/?platform=" + encodeURIComponent(platform.id), target: "_blank", className: "own-tab" }, "Open in its own tab")
    : null;

  return element(
    "li",
    { className: classes, "data-platform": platform.id },
    element(
      "div",
      {},
      element("div", { className: "name" }, platform.name, ...badges),
      element("div", { className: "account" }, `@${platform.username} · ${platform.instance_url}`),
    ),
    element("div", { className: "controls" }, ownTab, switchButton),
  );
}

function render(state) {
  platformNames = Object.fromEntries(state.platforms.map((p) => [p.id, p.name]));
  const name = (id) => (id ? platformNames[id] || id : "none");
  document.getElementById("session-platform").textContent = name(state.session.active_platform_id);
  let tabText = name(state.tab.platform_id);
  if (state.tab.is_override) tabText += " (override for this tab)";
  else if (state.tab.fell_back) tabText += " (your default: the active one is gone)";
  document.getElementById("tab-platform").textContent = tabText;

  const banner = document.getElementById("override-banner");
  banner.hidden = !state.tab.is_override;
  document.getElementById("override-name").textContent = name(state.tab.platform_id);

  const list = document.getElementById("platforms");
  list.replaceChildren(...state.platforms.map((platform) => platformItem(platform, state)));

  // A flash message kept in the session's data (after a switch): the server hands it out once.
  const flash = document.getElementById("flash");
  if (flash && state.flash) {
    flash.textContent = state.flash;
    flash.hidden = false;
  }
}

async function refreshDashboard() {
  const response = await api("/api/state");
  if (response.status === 403 || response.status === 404) {
    // The tab's override platform was deactivated or removed: back to the session's one.
    const problem = await response.json();
    sessionStorage.removeItem(OVERRIDE_KEY);
    showError("This tab's platform is no longer usable (" + problem.detail + "); back to the session's platform.");
    return refreshDashboard();
  }
  if (!response.ok) {
    showError("The server answered " + response.status + "; retrying on the next event.");
    return;
  }
  render(await response.json());
}

async function switchTo(platformId) {
  showError("");
  const response = await api("/api/switch", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ platform_id: platformId }),
  });
  if (!response.ok) {
    const problem = await response.json();
    showError("Could not switch: " + problem.detail);
  }
  await refreshDashboard();
}

function takeOverrideFromUrl() {
  const params = new URLSearchParams(window.location.search);
  const platform = params.get("platform");
  if (platform) {
    sessionStorage.setItem(OVERRIDE_KEY, platform);
    window.history.replaceState(null, "", window.location.pathname);
  }
  const clear = document.getElementById("clear-override");
  if (clear) {
    clear.addEventListener("click", () => {
      sessionStorage.removeItem(OVERRIDE_KEY);
      refreshDashboard();
    });
  }
}

// --- live updates -----------------------------------------------------------------------

function endsMySession(event) {
  if (event.event === "SessionEnded") return event.session_handle === mySession;
  if (event.event === "UserSessionsEnded") return event.kept_session_handle !== mySession;
  return false;
}

function describe(event) {
  const platform = (id) => platformNames[id] || id;
  const mine = (handle) => (handle === mySession ? "this browser" : "another session");
  switch (event.event) {
    case "PlatformSwitched":
      return `${mine(event.session_handle)} switched to ${platform(event.to_platform_id)}`;
    case "SessionStarted":
      return `${mine(event.session_handle)} logged in`;
    case "SessionEnded":
      return `${mine(event.session_handle)} ended (${event.reason})`;
    case "SessionRotated":
      return `${mine(event.session_handle)} got a new token`;
    case "UserSessionsEnded":
      return `${event.ended_count} session(s) ended`;
    case "PlatformConnectionChanged":
      return `${platform(event.platform_id)}: ${event.change}`;
    default:
      return event.event;
  }
}

function logEvent(event) {
  const list = document.getElementById("events");
  if (!list) return;
  document.getElementById("no-events")?.remove();
  const time = new Date(event.occurred_at).toLocaleTimeString();
  list.prepend(element("li", {}, element("time", {}, time), describe(event)));
  while (list.children.length > 20) list.lastChild.remove();
}

function onEvent(event) {
  logEvent(event);
  if (endsMySession(event)) {
    goToLogin("ended");
    return;
  }
  if (page === "dashboard") refreshDashboard();
  else if (page === "sessions" && event.event !== "PlatformSwitched" && event.event !== "SessionRotated") {
    window.location.reload();
  }
}

// Events may have been missed (this tab reconnected, or the server's link to Redis was
// down for a moment): nothing replays them, so re-read the state instead.
function onResync() {
  if (page === "dashboard") refreshDashboard();
  else if (page === "sessions") window.location.reload();
}

function listen() {
  const source = new EventSource("/events");
  for (const name of EVENT_NAMES) {
    source.addEventListener(name, (message) => onEvent(JSON.parse(message.data)));
  }
  source.addEventListener("resync", onResync);
  source.addEventListener("error", () => {
    // The browser reconnects by itself; a closed stream means the server refused it
    // (the session is gone), which the state endpoint confirms.
    if (source.readyState === EventSource.CLOSED) {
      api("/api/state").catch(() => {});
    }
  });
}

if (page === "dashboard") {
  takeOverrideFromUrl();
  refreshDashboard();
}
if (page === "dashboard" || page === "sessions") {
  listen();
}
