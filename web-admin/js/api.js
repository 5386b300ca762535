// The admin API from the browser: the token lives in sessionStorage, every
// error is a problem+json turned into an ApiError with a readable message.

const KEY = "eddy.admin.token";
const BASE = "/admin/api/v1";

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set(token) {
    sessionStorage.setItem(KEY, token);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, problem, fallback) {
    super(problem?.detail || fallback || `request failed (${status})`);
    this.status = status;
    this.code = problem?.code;
    this.step = problem?.step;
    // A 403 names the permission the token's role lacks.
    this.permission = problem?.permission;
  }
}

/** Called when the server says the token is no good: sign in again. */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export async function api(method, path, body) {
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers: {
        authorization: `Bearer ${session.token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, null, "the server cannot be reached; check your connection and try again");
  }
  if (response.status === 401) {
    onUnauthorized();
    throw new ApiError(401, await problemOf(response));
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (response.status === 204) return null;
  return response.json();
}

/** Uploads a component with progress (fetch cannot report upload progress). */
export function upload(slug, file, { activate = true, notes = "", onProgress = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const query = new URLSearchParams({ activate: String(activate), notes });
    xhr.open("POST", `${BASE}/apps/${encodeURIComponent(slug)}/deployments?${query}`);
    xhr.setRequestHeader("authorization", `Bearer ${session.token}`);
    xhr.setRequestHeader("content-type", "application/wasm");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () =>
      reject(new ApiError(0, null, "the upload was interrupted (network error); nothing was deployed, try again"));
    xhr.onload = () => {
      let json = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {}
      if (xhr.status === 401) onUnauthorized();
      if (xhr.status >= 200 && xhr.status < 300) resolve(json);
      else reject(new ApiError(xhr.status, json));
    };
    xhr.send(file);
  });
}

/**
 * Reads a server-sent event stream (with the bearer token, which EventSource
 * cannot send) and calls `onEvent` with each JSON event until `signal` aborts.
 */
export async function stream(path, onEvent, signal, onState = () => {}) {
  while (!signal.aborted) {
    try {
      const response = await fetch(BASE + path, {
        headers: { authorization: `Bearer ${session.token}` },
        signal,
      });
      if (response.status === 401) {
        onUnauthorized();
        return;
      }
      if (!response.ok || !response.body) throw new Error(`stream ${response.status}`);
      onState(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const chunk = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = chunk
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trimStart())
            .join("\n");
          if (data) onEvent(JSON.parse(data));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    onState(false);
    await new Promise((r) => setTimeout(r, 1500));
  }
}
