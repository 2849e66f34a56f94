// The extraction page: send a document + schema to /v1/extract, show the JSON, and draw each
// value's box (provenance) over the page images served by /v1/documents/{id}/pages/{n}.png.
// The API key field works at once: the example and model lists load when the page opens and
// again whenever the key changes (a server with a key answers 401 until it is typed). Boxes carry
// no text over the page (it would hide the very value it points at): a box's path shows on hover
// and in the side table, and hovering either highlights both.
"use strict";
const $ = (id) => document.getElementById(id);
let examples = [];
let listsLoad = 0; // only the latest load of the lists fills them

function headers() {
  const key = $("apikey").value.trim();
  return key ? { "X-API-Key": key } : {};
}

class HttpError extends Error {
  constructor(status, message, hint) {
    super(status === 401
      ? ($("apikey").value.trim() ? "401: wrong API key — check the API key field"
        : "401: this server needs an API key — type it in the API key field")
      : `${status}: ${message}${hint ? " (" + hint + ")" : ""}`);
    this.status = status;
  }
}

async function failure(r) {
  let body = {};
  try { body = await r.json(); } catch (_) { /* not JSON */ }
  return new HttpError(r.status, body.error?.message || r.statusText, body.error?.hint);
}

async function getJSON(url) {
  const r = await fetch(url, { headers: headers() });
  if (!r.ok) throw await failure(r);
  return r.json();
}

function resetSelect(sel) {
  while (sel.options.length > 1) sel.remove(1);
}

async function loadLists() {
  const mine = ++listsLoad;
  try {
    const [exs, models] = await Promise.all([getJSON("/v1/examples"), getJSON("/v1/models")]);
    if (mine !== listsLoad) return;
    examples = exs;
    const chosen = $("example").value;
    resetSelect($("example"));
    for (const ex of examples) $("example").add(new Option(ex.name, ex.name));
    if (examples.some((ex) => ex.name === chosen)) $("example").value = chosen;
    resetSelect($("model"));
    for (const m of models.models) $("model").add(new Option(m.name, m.name));
    if ($("status").dataset.lists) status(`${examples.length} examples loaded`);
  } catch (e) {
    if (mine !== listsLoad) return;
    examples = [];
    resetSelect($("example"));
    resetSelect($("model"));
    status(e.message, true);
    $("status").dataset.lists = "1"; // a list error: clear it once the lists load
  }
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
  delete $("status").dataset.lists;
}

let keyTimer = null;
$("apikey").addEventListener("input", () => {
  clearTimeout(keyTimer);
  keyTimer = setTimeout(loadLists, 300);
});
$("apikey").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") { // reload the lists; do not run an extraction
    ev.preventDefault();
    clearTimeout(keyTimer);
    loadLists();
  }
});

$("example").addEventListener("change", () => {
  const ex = examples.find((e) => e.name === $("example").value);
  if (ex) $("schema").value = JSON.stringify(ex.schema, null, 2);
});

function leaves(data, prefix = "", out = []) {
  if (data !== null && typeof data === "object") {
    for (const [k, v] of Object.entries(data)) {
      const p = Array.isArray(data) ? `${prefix}[${k}]` : (prefix ? `${prefix}.${k}` : k);
      leaves(v, p, out);
    }
  } else if (prefix) out.push([prefix, data]);
  return out;
}

function render(res) {
  $("result").textContent = JSON.stringify(res.data, null, 2);
  const tbody = $("leaves").querySelector("tbody");
  tbody.innerHTML = "";
  for (const [path, value] of leaves(res.data)) {
    const prov = res.provenance[path];
    const tr = document.createElement("tr");
    tr.dataset.path = path;
    for (const t of [path, JSON.stringify(value), prov ? prov.page : "", prov ? prov.confidence.toFixed(2) : ""]) {
      const td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
    }
    tr.addEventListener("mouseenter", () => highlight(path, true));
    tr.addEventListener("mouseleave", () => highlight(path, false));
    tbody.appendChild(tr);
  }
  $("missing").innerHTML = "";
  for (const m of res.missing) {
    const li = document.createElement("li");
    li.textContent = `${m.path}: ${m.reason} (${m.action})`;
    $("missing").appendChild(li);
  }
  if (!res.missing.length) {
    const li = document.createElement("li");
    li.textContent = "none"; li.className = "none";
    $("missing").appendChild(li);
  }
  const pages = $("pages");
  pages.innerHTML = "";
  if (!res.document_id) return;
  for (const pg of res.pages) {
    const div = document.createElement("div");
    div.className = "page"; div.dataset.page = pg.number;
    const img = document.createElement("img");
    img.alt = `page ${pg.number}`;
    div.appendChild(img);
    for (const [path, prov] of Object.entries(res.provenance)) {
      if (prov.page !== pg.number || !pg.width || !pg.height) continue;
      // a box only: the value's path shows on hover and in the table, never over the page
      const b = prov.bbox, box = document.createElement("div");
      box.className = "box"; box.dataset.path = path; box.title = `${path}: ${prov.text}`;
      box.style.left = `${(100 * b.x0) / pg.width}%`;
      box.style.top = `${(100 * b.y0) / pg.height}%`;
      box.style.width = `${Math.max(0.5, (100 * (b.x1 - b.x0)) / pg.width)}%`;
      box.style.height = `${Math.max(0.5, (100 * (b.y1 - b.y0)) / pg.height)}%`;
      box.addEventListener("mouseenter", () => highlight(path, true));
      box.addEventListener("mouseleave", () => highlight(path, false));
      div.appendChild(box);
    }
    pages.appendChild(div);
    fetch(`/v1/documents/${res.document_id}/pages/${pg.number}.png`, { headers: headers() })
      .then(async (r) => (r.ok ? r.blob() : Promise.reject(await failure(r))))
      .then((blob) => { img.src = URL.createObjectURL(blob); })
      .catch((e) => status(`page image: ${e.message}`, true));
  }
}

function highlight(path, on) {
  document.querySelectorAll(`[data-path="${CSS.escape(path)}"]`).forEach((el) => el.classList.toggle("active", on));
}

$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const fd = new FormData();
  const file = $("file").files[0];
  if (file) fd.append("file", file);
  else if ($("example").value) fd.append("example", $("example").value);
  else return status("choose a document or an example", true);
  fd.append("schema", $("schema").value);
  fd.append("engine", $("engine").value);
  if ($("model").value) fd.append("model", $("model").value);
  $("run").disabled = true;
  status("extracting…");
  const t0 = performance.now();
  try {
    const r = await fetch("/v1/extract", { method: "POST", body: fd, headers: headers() });
    if (!r.ok) throw await failure(r);
    const body = await r.json();
    render(body);
    status(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s — ${Object.keys(body.provenance).length} values located` + (body.valid ? "" : " — INVALID: " + body.errors.join("; ")));
  } catch (e) {
    status(e.message, true);
  } finally {
    $("run").disabled = false;
  }
});

loadLists();
