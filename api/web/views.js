// The request and session lists: one <li> per resource, rebuilt only when that resource changes,
// so that an update elsewhere never takes the keyboard focus or a half-typed form away.

import { isoToLocalInput, timeElement } from "./times.js";

// h("p", {class: "x"}, "text", child): an element; text is always text, never markup.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

const CANCEL_REASONS = {
  cancelled_by_user: "cancelled",
  no_show: "someone did not show up",
  rearranged: "rearranged: you sit in another session of the same slot",
};
const GOOD = new Set(["waiting", "matched", "scheduled", "active", "completed"]);

function badge(status) {
  return h("span", { class: `badge ${GOOD.has(status) ? "good" : "bad"}` }, status.replace("_", " "));
}

export function partnerOf(session, me) {
  return session.participant_one_id === me ? session.participant_two_id : session.participant_one_id;
}

function joinedAt(session, user) {
  return session.participant_one_id === user
    ? session.participant_one_joined_at
    : session.participant_two_joined_at;
}

// Only web links become links: a meeting URL is data, and `javascript:` must stay text.
function meetingLink(url) {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "Open the meeting");
}

function button(action, label, kind = "") {
  return h("button", { type: "button", "data-action": action, class: kind }, label);
}

function requestItem(request, languages) {
  const waiting = request.status === "waiting" && !request.cancel_requested_at;
  const isWindow = request.availability_end !== request.availability_start;
  const when = h("span", {}, timeElement(request.availability_start));
  if (isWindow) when.append(" to ", timeElement(request.availability_end));
  const notes = [];
  if (request.priority > 0) notes.push("priority rematch");
  if (request.status === "waiting" && request.cancel_requested_at) notes.push("cancel asked");
  if (request.status_reason) notes.push(request.status_reason);
  const actions = waiting
    ? h(
        "div",
        { class: "actions" },
        button("cancel-request", "Cancel request", "secondary"),
        h(
          "details",
          {},
          h("summary", {}, "Reschedule"),
          h(
            "form",
            { class: "reschedule" },
            h("label", { for: `move-${request.id}` }, "New start"),
            h("input", {
              id: `move-${request.id}`, name: "availability_start", type: "datetime-local",
              required: true, value: isoToLocalInput(request.availability_start),
            }),
            h("label", { for: `move-end-${request.id}` }, "New last start (optional)"),
            h("input", { id: `move-end-${request.id}`, name: "availability_end", type: "datetime-local" }),
            h("button", { type: "submit" }, "Move"),
          ),
        ),
      )
    : null;
  return h(
    "li",
    { "data-request-id": request.id, "data-status": request.status, "data-priority": request.priority },
    h(
      "div",
      { class: "title" },
      `${languages.get(request.native_language_id) || request.native_language_id} → `
        + `${languages.get(request.learning_language_id) || request.learning_language_id}`,
      badge(request.status),
    ),
    h(
      "div",
      { class: "detail" },
      when,
      ` · ${request.proficiency_level.replace("_", " ")} · ${request.preferred_duration_minutes} min`,
      notes.length ? ` · ${notes.join(" · ")}` : null,
    ),
    actions,
  );
}

function sessionItem(session, me, languages) {
  const partner = partnerOf(session, me);
  const open = session.status === "scheduled" || session.status === "active";
  const joined = [];
  if (joinedAt(session, me)) joined.push("you joined");
  if (joinedAt(session, partner)) joined.push(`${partner} joined`);
  let reason = null;
  if (session.status === "cancelled") {
    const by = session.cancelled_by === me ? "you" : session.cancelled_by;
    reason = session.cancel_reason === "cancelled_by_user" && by
      ? `cancelled by ${by}`
      : CANCEL_REASONS[session.cancel_reason] || session.cancel_reason;
  }
  const actions = h("div", { class: "actions" });
  if (session.status === "scheduled" && !joinedAt(session, me)) actions.append(button("join", "Join"));
  if (session.status === "scheduled" && !session.cancel_requested_at) {
    actions.append(button("cancel-session", "Cancel session", "secondary"));
  }
  if (session.status === "active" && !session.end_requested_at) actions.append(button("end", "End session"));
  if (open) actions.append(button("calendar", "Calendar file (.ics)", "secondary"));
  const link = meetingLink(session.meeting_url);
  if (link) actions.append(link);
  const languagePair = `${languages.get(session.language_one_id) || session.language_one_id} ⇄ `
    + `${languages.get(session.language_two_id) || session.language_two_id}`;
  return h(
    "li",
    { "data-session-id": session.id, "data-status": session.status, "data-partner": partner },
    h("div", { class: "title" }, `With ${partner} · ${languagePair}`, badge(session.status)),
    h(
      "div",
      { class: "detail" },
      timeElement(session.scheduled_start),
      ` · ${session.duration_minutes} min`,
      joined.length ? ` · ${joined.join(", ")}` : null,
      reason ? ` · ${reason}` : null,
      session.rematch_refusal ? ` · rematch refused: ${session.rematch_refusal}` : null,
    ),
    actions.childElementCount ? actions : null,
  );
}

// Bring one list in line with the resources, newest first, touching only what changed.
function sync(list, resources, key, startOf, build) {
  // Latest start first; of one start, the latest made first (a rematch above what it replaced).
  const ordered = [...resources].sort(
    (a, b) => Date.parse(startOf(b)) - Date.parse(startOf(a))
      || Date.parse(b.created_at) - Date.parse(a.created_at),
  );
  const existing = new Map([...list.children].map((li) => [li.dataset[key], li]));
  const wanted = ordered.map((resource) => {
    const version = `${resource.updated_at}|${resource.status}`;
    const current = existing.get(resource.id);
    if (current && current.dataset.version === version) return current;
    const fresh = build(resource);
    fresh.dataset.version = version;
    if (current) current.replaceWith(fresh);
    return fresh;
  });
  const same = wanted.length === list.children.length && wanted.every((li, i) => list.children[i] === li);
  if (!same) list.replaceChildren(...wanted);
}

export function showRequests(list, requests, languages) {
  sync(list, requests, "requestId", (r) => r.availability_start, (r) => requestItem(r, languages));
}

export function showSessions(list, sessions, me, languages) {
  sync(list, sessions, "sessionId", (s) => s.scheduled_start, (s) => sessionItem(s, me, languages));
}
