// Calls to Parley's API with the signed-in user's bearer token.
// The token lives in sessionStorage: it survives a reload of this tab and nothing longer.

const TOKEN_KEY = "parley.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// FastAPI's refusals: {"detail": "why"}, or for 422 a list naming each field.
function describe(body, status) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((issue) => `${(issue.loc || []).slice(1).join(".")}: ${issue.msg}`).join("; ");
  }
  return `the server answered ${status}`;
}

// One call: JSON in, JSON out; throws ApiError with the server's reason on any refusal.
export async function call(method, path, body, token = savedToken()) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) throw new ApiError(response.status, describe(parsed, response.status));
  return parsed;
}

// A file the API serves to the bearer only (a session's calendar), handed to the browser as a
// download through a Blob URL, since a plain link could not carry the token.
export async function download(path, filename) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${savedToken()}` } });
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    throw new ApiError(response.status, describe(parsed, response.status));
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// What the page needs from the public OpenAPI document: the levels a booking takes, and whether
// this server offers development sign-in (its path is served only in development mode).
export async function capabilities() {
  const document = await call("GET", "/openapi.json", undefined, null);
  const booking = document.components.schemas.MatchRequestCreate.properties;
  return {
    levels: booking.proficiency_level.enum || [],
    devSignIn: Object.hasOwn(document.paths, "/v1/dev/token"),
  };
}
