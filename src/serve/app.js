// formcheck's page script: uploads with a progress bar per file, live status per clip from
// server-sent events, seeking the video from a rep or a finding, and deleting a clip.
// Every request that changes something carries X-Requested-With (see the server's access.rs).
"use strict";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function describe(s) {
  if (s.status === "queued") return "queued";
  if (s.status === "running") {
    const pct = Math.round((s.progress || 0) * 100);
    return (s.stage || "running") + " " + pct + " %";
  }
  if (s.status === "done") return s.headline || "done";
  if (s.status === "failed") return "failed: " + (s.error || "");
  return s.status;
}

// Follows a clip's status until it ends; `show(status)` is called on every change.
function follow(id, show) {
  const events = new EventSource("/api/clips/" + id + "/events");
  events.addEventListener("status", (e) => {
    const s = JSON.parse(e.data);
    show(s);
    if (s.status === "done" || s.status === "failed" || s.status === "deleted") events.close();
  });
  events.onerror = () => { /* the browser reconnects on its own */ };
  return events;
}

function uploadOne(file, form, list, maxMb) {
  const item = el("li", "upload-item");
  const name = el("span", "name", file.name);
  const bar = el("progress");
  bar.max = 1; bar.value = 0;
  const state = el("span", "state", "uploading");
  item.append(name, bar, state);
  list.prepend(item);
  if (maxMb && file.size > maxMb * 1048576) {
    state.textContent = "too large: this server accepts up to " + maxMb + " MB";
    item.classList.add("failed");
    bar.remove();
    return;
  }
  const data = new FormData();
  for (const field of ["athlete", "plate_mm", "load_kg"]) {
    const input = form.elements[field];
    if (input && input.value.trim() !== "") data.append(field, input.value.trim());
  }
  data.append("clip", file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/clips");
  xhr.setRequestHeader("X-Requested-With", "formcheck");
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      bar.value = e.loaded / e.total;
      state.textContent = "uploading " + Math.round(100 * e.loaded / e.total) + " %";
    }
  };
  xhr.onerror = () => { state.textContent = "upload failed: the connection dropped"; item.classList.add("failed"); };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status !== 202 && xhr.status !== 200) {
      state.textContent = body.error || ("upload refused (" + xhr.status + ")");
      item.classList.add("failed");
      bar.remove();
      return;
    }
    const link = el("a", "name", file.name);
    link.href = body.page_url;
    name.replaceWith(link);
    if (body.duplicate) state.textContent = "uploaded before: ";
    follow(body.id, (s) => {
      bar.value = s.status === "done" ? 1 : (s.progress || 0);
      state.textContent = (body.duplicate ? "uploaded before: " : "") + describe(s);
      item.dataset.status = s.status;
      if (s.status === "failed") item.classList.add("failed");
      if (s.status === "done") { bar.remove(); item.classList.add("done"); }
    });
  };
  xhr.send(data);
}

function setupUpload() {
  const form = document.getElementById("upload");
  if (!form) return;
  const list = document.getElementById("uploads");
  const maxMb = Number(form.dataset.maxMb) || 0;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const files = Array.from(form.elements["clip"].files);
    for (const f of files) uploadOne(f, form, list, maxMb);
    form.elements["clip"].value = "";
  });
}

function setupResult() {
  const video = document.getElementById("video");
  document.querySelectorAll("[data-seek]").forEach((node) => {
    node.addEventListener("click", (e) => {
      if (!video) return;
      e.stopPropagation();
      video.currentTime = Math.max(0, Number(node.dataset.seek) - 0.5);
      video.play().catch(() => {});
      video.scrollIntoView({ behavior: "smooth", block: "nearest" });
    });
  });
  const live = document.getElementById("live");
  if (live) {
    follow(live.dataset.clip, (s) => {
      live.textContent = describe(s);
      if (s.status === "done") window.location.reload();
    });
  }
  document.querySelectorAll("[data-delete]").forEach((b) => {
    b.addEventListener("click", () => {
      if (!window.confirm("Delete this clip and everything made from it?")) return;
      fetch("/api/clips/" + b.dataset.delete, { method: "DELETE", headers: { "X-Requested-With": "formcheck" } })
        .then((r) => { if (r.ok) window.location.href = "/"; else r.json().then((j) => window.alert(j.error)); });
    });
  });
}

document.addEventListener("DOMContentLoaded", () => { setupUpload(); setupResult(); });
