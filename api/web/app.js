// Parley's page: sign in, book, and see your requests and sessions change as they happen.

import { ApiError, call, capabilities, download, saveToken, savedToken } from "./api.js";
import { LiveEvents, newestEventId } from "./stream.js";
import { browserZone, currentZone, localInputToIso, showTime, useZone } from "./times.js";
import { h, partnerOf, showRequests, showSessions } from "./views.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, languages: new Map(), requests: new Map(), sessions: new Map() };
const live = new LiveEvents(onEvent, onLiveState);
const ACTIVITY_KEPT = 20;

function say(text) {
  $("problem").textContent = "";
  $("message").textContent = text;
}

function complain(error) {
  $("message").textContent = "";
  $("problem").textContent = error instanceof ApiError ? error.message : String(error);
  if (error instanceof ApiError && error.status === 401 && state.me) signOut("Your sign-in expired.");
}

// Keep the newer of two snapshots of a resource (a list read and an event may cross).
function keep(map, resource) {
  const held = map.get(resource.id);
  if (!held || Date.parse(resource.updated_at) >= Date.parse(held.updated_at)) {
    map.set(resource.id, resource);
  }
}

function render() {
  showRequests($("request-list"), state.requests.values(), state.languages);
  showSessions($("session-list"), state.sessions.values(), state.me.user_id, state.languages);
  $("requests-empty").hidden = state.requests.size > 0;
  $("sessions-empty").hidden = state.sessions.size > 0;
}

function describeEvent(event) {
  const p = event.payload;
  if (event.type.startsWith("request.")) {
    const when = showTime(p.availability_start);
    const what = {
      "request.waiting": `Your request for ${when} is waiting for a partner.`,
      "request.rebooked": `Parley booked you a priority rematch from ${when}.`,
      "request.matched": `Your request for ${when} found a partner.`,
      "request.rescheduled": `Your request for ${when} was moved.`,
    }[event.type];
    return what || `Your request for ${when} is ${p.status.replace("_", " ")}.`;
  }
  const partner = partnerOf(p, state.me.user_id);
  const when = showTime(p.scheduled_start);
  return {
    "session.scheduled": `Session with ${partner} scheduled for ${when}.`,
    "session.rearranged": `You now meet ${partner} at ${when}.`,
    "session.partner_joined": `${partner} joined your session of ${when}.`,
    "session.active": `Your session with ${partner} has started.`,
    "session.completed": `Your session with ${partner} is over.`,
    "session.cancelled": `Your session with ${partner} at ${when} was cancelled.`,
    "session.reminder": p.reminder === "join_open"
      ? `You can join your session with ${partner} now.`
      : `Reminder: your session with ${partner} starts at ${when}.`,
  }[event.type] || `Session with ${partner}: ${event.type}.`;
}

function onEvent(event) {
  keep(event.type.startsWith("session.") ? state.sessions : state.requests, event.payload);
  render();
  const log = $("activity");
  log.prepend(h("li", { "data-event-type": event.type }, describeEvent(event)));
  while (log.children.length > ACTIVITY_KEPT) log.lastElementChild.remove();
}

function onLiveState(liveState) {
  $("live").dataset.state = liveState;
  $("live-state").textContent = liveState;
  if (liveState === "signed-out" && state.me) signOut("Your sign-in expired.");
}

// Show times in the user's zone (from the API), offering the browser's when it differs.
function showZone(me) {
  const zone = useZone(me.time_zone);
  $("zone-name").textContent = zone;
  $("zone").dataset.zone = zone;
  const offer = $("use-browser-zone");
  offer.hidden = !me.time_zone || browserZone() === zone;
  offer.textContent = `Use my zone, ${browserZone()}`;
}

async function useBrowserZone() {
  state.me = await call("PUT", "/v1/me", { time_zone: browserZone() });
  showZone(state.me);
  // Every time on the page is written in the zone: build the lists again.
  $("request-list").replaceChildren();
  $("session-list").replaceChildren();
  render();
  say(`Times are now shown in ${currentZone()}.`);
}

async function signIn(token) {
  const me = await call("GET", "/v1/me", undefined, token);
  saveToken(token);
  state.me = me;
  $("who-name").textContent = me.user_id;
  showZone(me);
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("signed-in").hidden = false;
  // The newest event first, then the lists: whatever changes after that id arrives on the
  // stream, and a snapshot the lists already hold is kept only if newer.
  const after = await newestEventId();
  const [requests, sessions] = await Promise.all([
    call("GET", "/v1/match-requests?limit=200"),
    call("GET", "/v1/sessions?limit=200"),
  ]);
  requests.forEach((r) => keep(state.requests, r));
  sessions.forEach((s) => keep(state.sessions, s));
  render();
  live.start(after);
  say(`Signed in as ${me.user_id}.`);
  $("native").focus();
}

function signOut(why = "Signed out.") {
  live.stop();
  saveToken(null);
  Object.assign(state, { me: null, requests: new Map(), sessions: new Map() });
  $("request-list").replaceChildren();
  $("session-list").replaceChildren();
  $("activity").replaceChildren();
  $("signed-in").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  say(why);
}

async function book(form) {
  const data = new FormData(form);
  const body = {
    native_language_id: data.get("native_language_id"),
    learning_language_id: data.get("learning_language_id"),
    proficiency_level: data.get("proficiency_level"),
    availability_start: localInputToIso(data.get("availability_start")),
    preferred_duration_minutes: Number(data.get("preferred_duration_minutes")),
  };
  const end = localInputToIso(data.get("availability_end"));
  if (end) body.availability_end = end;
  const request = await call("POST", "/v1/match-requests", body);
  keep(state.requests, request);
  render();
  say(`Booked ${showTime(request.availability_start)} (${currentZone()}): waiting for a partner.`);
}

// The buttons and forms inside the lists, by what they act on.
async function act(target, event) {
  const item = target.closest("li");
  const requestId = item.dataset.requestId;
  const sessionId = item.dataset.sessionId;
  if (event.type === "submit") {
    const data = new FormData(target);
    const body = { availability_start: localInputToIso(data.get("availability_start")) };
    const end = localInputToIso(data.get("availability_end"));
    if (end) body.availability_end = end;
    const moved = await call("POST", `/v1/match-requests/${requestId}/reschedule`, body);
    keep(state.requests, moved);
    keep(state.requests, await call("GET", `/v1/match-requests/${requestId}`));
    render();
    return say(`Moved to ${showTime(moved.availability_start)}.`);
  }
  const action = target.dataset.action;
  if (action === "cancel-request") {
    keep(state.requests, await call("POST", `/v1/match-requests/${requestId}/cancel`));
    render();
    return say("Request cancelled.");
  }
  if (action === "calendar") {
    await download(`/v1/sessions/${sessionId}/calendar.ics`, `parley-session-${sessionId}.ics`);
    return say("Calendar file downloaded.");
  }
  const path = { join: "join", "cancel-session": "cancel", end: "end" }[action];
  keep(state.sessions, await call("POST", `/v1/sessions/${sessionId}/${path}`));
  render();
  say({ join: "You joined.", "cancel-session": "Session cancelled.", end: "Session ended." }[action]);
}

function guard(handler) {
  return async (event) => {
    event.preventDefault();
    try {
      await handler(event);
    } catch (error) {
      complain(error);
    }
  };
}

function fillSelect(select, options) {
  select.replaceChildren(...options.map(([value, label]) => h("option", { value }, label)));
}

async function boot() {
  const [abilities, languages] = await Promise.all([capabilities(), call("GET", "/v1/languages")]);
  state.languages = new Map(languages.map((language) => [language.id, language.name]));
  const pairs = languages.map((language) => [language.id, language.name]);
  fillSelect($("native"), pairs);
  fillSelect($("learning"), pairs);
  if (pairs.length > 1) $("learning").selectedIndex = 1;
  fillSelect($("level"), abilities.levels.map((level) => [level, level.replace("_", " ")]));
  $("level").value = abilities.levels.includes("intermediate") ? "intermediate" : abilities.levels[0];
  $("dev-sign-in").hidden = !abilities.devSignIn;

  $("dev-sign-in").addEventListener("submit", guard(async () => {
    const user_id = $("dev-user").value.trim();
    await signIn((await call("POST", "/v1/dev/token", { user_id }, null)).token);
  }));
  $("token-sign-in").addEventListener("submit", guard(async () => {
    await signIn($("token").value.trim());
    $("token").value = "";
  }));
  $("sign-out").addEventListener("click", () => signOut());
  $("use-browser-zone").addEventListener("click", guard(useBrowserZone));
  $("book-form").addEventListener("submit", guard((event) => book(event.target)));
  for (const list of [$("request-list"), $("session-list")]) {
    list.addEventListener("submit", guard((event) => act(event.target, event)));
    list.addEventListener("click", (event) => {
      const target = event.target.closest("button[data-action]");
      if (target) guard(() => act(target, event))(event);
    });
  }
  const token = savedToken();
  if (token) await signIn(token).catch((error) => { saveToken(null); complain(error); });
  document.body.dataset.ready = "true";
}

boot().catch(complain);
