// The user's live events: Server-Sent Events opened with a single-use ticket.
//
// An EventSource cannot send the bearer token, so each connection starts with
// `POST /v1/events/ticket`. A ticket opens one stream once, so EventSource's own reconnect (same
// URL, same ticket) cannot work: on any error this closes the source, gets a new ticket and opens
// `/v1/events?ticket=...&after=<last id seen>`, so nothing is missed and nothing repeated.

import { call } from "./api.js";

// The stream names each message by its type; EventSource only delivers the names it listens to.
export const EVENT_TYPES = [
  "request.waiting",
  "request.rebooked",
  "request.matched",
  "request.rescheduled",
  "request.cancelled",
  "request.expired",
  "request.no_show",
  "session.scheduled",
  "session.rearranged",
  "session.partner_joined",
  "session.active",
  "session.completed",
  "session.cancelled",
  "session.reminder",
];
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;
const PAGE = 500;

// The id of the user's newest event: the stream resumes after it (older ones are in the lists).
export async function newestEventId() {
  let after = 0;
  for (;;) {
    const page = await call("GET", `/v1/events?after=${after}&limit=${PAGE}`);
    after = page.next_after;
    if (page.events.length < PAGE) return after;
  }
}

export class LiveEvents {
  // onEvent(event) for each new event; onState("connecting" | "connected" | "reconnecting" |
  // "off" | "signed-out") as the connection changes.
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = 0;
    this.source = null;
    this.timer = null;
    this.retryMs = FIRST_RETRY_MS;
    this.running = false;
  }

  start(afterId) {
    this.stop();
    this.lastId = afterId;
    this.running = true;
    this.open();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
    this.onState("off");
  }

  async open() {
    if (!this.running) return;
    this.onState(this.lastConnected ? "reconnecting" : "connecting");
    let ticket;
    try {
      ticket = (await call("POST", "/v1/events/ticket")).ticket;
    } catch (error) {
      if (error.status === 401) {
        this.running = false;
        this.onState("signed-out");
        return;
      }
      this.retryLater();
      return;
    }
    if (!this.running) return;
    const query = new URLSearchParams({ ticket, after: String(this.lastId) });
    const source = new EventSource(`/v1/events?${query}`);
    this.source = source;
    source.onopen = () => {
      this.retryMs = FIRST_RETRY_MS;
      this.lastConnected = true;
      this.onState("connected");
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (message) => this.receive(message));
    }
    source.onerror = () => {
      if (this.source !== source) return;
      source.close(); // its own retry would present the used ticket again
      this.source = null;
      this.onState("reconnecting");
      this.retryLater();
    };
  }

  receive(message) {
    const event = JSON.parse(message.data);
    if (event.id <= this.lastId) return;
    this.lastId = event.id;
    this.onEvent(event);
  }

  retryLater() {
    if (!this.running) return;
    this.timer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
  }
}
