// The upload page of `livematte api`: drop images or a clip, see before and after, download.
// One image goes to POST /v1/cutout; several images or a video become a job, polled until done.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { urls: [] };
window.livematte = state;

$("token").value = localStorage.getItem("livematte-token") || "";
$("token").addEventListener("change", () => localStorage.setItem("livematte-token", $("token").value));

function headers() {
  const token = $("token").value.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function options() {
  const params = new URLSearchParams();
  const background = $("background").value;
  params.set("background", background === "color" ? `color:${$("color").value}` : background);
  params.set("format", $("format").value);
  return params;
}

function url(blob) {
  const made = URL.createObjectURL(blob);
  state.urls.push(made);
  return made;
}

function show(where, blob, video) {
  const element = document.createElement(video ? "video" : "img");
  if (video) { element.controls = true; element.muted = true; }
  element.src = url(blob);
  $(where).replaceChildren(element);
  return element;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try { const body = await response.json(); message = body.error || message; } catch (e) { /* not JSON */ }
  throw new Error(message);
}

function offer(blob, name) {
  const link = $("download");
  link.href = url(blob);
  link.download = name;
  link.textContent = `download ${name}`;
  link.hidden = false;
  state.result = blob;
}

async function cutout(file) {
  const form = new FormData();
  form.append("image", file);
  const response = await fetch(`/v1/cutout?${options()}`, { method: "POST", body: form, headers: headers() });
  if (response.status === 202) return job({ ...(await response.json()), single: true }, false);
  if (!response.ok) return failure(response);
  const blob = await response.blob();
  show("after", blob, false);
  offer(blob, `cutout.${$("format").value}`);
}

async function job(accepted, video) {
  const progress = $("progress");
  progress.hidden = false;
  for (;;) {
    const response = await fetch(`/v1/jobs/${accepted.id}`, { headers: headers() });
    if (!response.ok) return failure(response);
    const view = await response.json();
    progress.value = view.progress;
    const failed = view.items.filter((item) => item.status === "failed");
    $("status").textContent = `${view.state}: ${Math.round(view.progress * 100)} %` +
      (failed.length ? `, ${failed.length} failed` : "");
    if (view.state === "failed" || view.state === "cancelled") throw new Error(view.error || view.state);
    if (view.state === "done") break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const result = await fetch(`/v1/jobs/${accepted.id}/result`, { headers: headers() });
  if (!result.ok) return failure(result);
  const blob = await result.blob();
  if (video) show("after", blob, true);
  const ext = video ? "mp4" : (accepted.single ? $("format").value : "zip");
  if (!video && accepted.single) show("after", blob, false);
  offer(blob, `livematte-${accepted.id.slice(0, 8)}.${ext}`);
}

async function submit(files) {
  $("error").textContent = "";
  $("download").hidden = true;
  $("status").textContent = "uploading…";
  state.done = false;
  const video = files.length === 1 && files[0].type.startsWith("video/");
  $("compare").hidden = false;
  show("before", files[0], video);
  $("after").replaceChildren();
  try {
    if (files.length === 1 && !video) {
      await cutout(files[0]);
    } else {
      const form = new FormData();
      for (const file of files) form.append(video ? "video" : "image", file);
      const params = options();
      if (video) params.set("format", "mp4");
      const response = await fetch(`/v1/jobs?${params}`, { method: "POST", body: form, headers: headers() });
      if (!response.ok) return await failure(response);
      await job(await response.json(), video);
    }
    $("status").textContent = "done";
  } catch (error) {
    $("error").textContent = error.message;
    $("status").textContent = "";
  } finally {
    state.done = true;
  }
}

const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) submit([...event.dataTransfer.files]);
});
$("files").addEventListener("change", (event) => { if (event.target.files.length) submit([...event.target.files]); });
