// Times in the user's zone: the API speaks UTC; people read and type their own wall clock.

const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
let zone = BROWSER_ZONE;

export function browserZone() {
  return BROWSER_ZONE;
}

// The zone the page shows and reads times in: the user's own (GET /v1/me `time_zone`) when the
// API gives one, else the browser's.
export function useZone(preferred) {
  if (preferred) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: preferred });
      zone = preferred;
    } catch {
      // An unknown zone name: keep the browser's rather than show wrong times.
    }
  }
  return zone;
}

export function currentZone() {
  return zone;
}

// The wall-clock fields of an instant in the zone, as numbers.
function wallClock(instantMs) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instantMs));
  const field = Object.fromEntries(parts.map((part) => [part.type, Number(part.value)]));
  return field;
}

// How far the zone's wall clock is ahead of UTC at an instant, in milliseconds.
function offsetAt(instantMs) {
  const f = wallClock(instantMs);
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

// A `datetime-local` value ("2025-07-27T15:00") read in the zone, as an ISO instant in UTC.
export function localInputToIso(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  // Two rounds find the offset in force at the instant itself (it differs across a DST change).
  let instant = wall - offsetAt(wall);
  instant = wall - offsetAt(instant);
  return new Date(instant).toISOString().replace(".000Z", "Z");
}

// An ISO instant as a `datetime-local` value in the zone.
export function isoToLocalInput(iso) {
  const f = wallClock(Date.parse(iso));
  const pad = (n) => String(n).padStart(2, "0");
  return `${f.year}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}`;
}

// An ISO instant for people: "Sun, 27 Jul 2025, 15:00" in the zone.
export function showTime(iso) {
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }).format(new Date(iso));
}

// A <time> element: the words for people, the exact instant for machines.
export function timeElement(iso) {
  const element = document.createElement("time");
  element.dateTime = iso;
  element.textContent = showTime(iso);
  return element;
}
