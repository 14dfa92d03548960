// CallBot pages: small enhancements over plain forms. Every form works without this file.
"use strict";
(function () {
  const csrf = () => (document.querySelector('meta[name="csrf"]') || {}).content || "";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // Error summaries take focus so screen readers announce them.
  const summary = $("[data-focus]");
  if (summary) summary.focus();

  // Screen 1: examples fill the request; the button shows progress while the script is written.
  $$("[data-example]").forEach((button) => button.addEventListener("click", () => {
    const area = $("#natural_input");
    area.value = button.textContent.trim();
    area.focus();
  }));
  $$("form").forEach((form) => form.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (button && button.dataset.busy) {
      const note = $("[data-busy-note]", form);
      if (note) note.textContent = button.dataset.busy;
      window.setTimeout(() => { button.disabled = true; }, 0);
      button.setAttribute("aria-busy", "true");
    }
  }));

  // Screen 2: 수정 opens the editor in place; 연락처 추가 adds a row; a chosen CSV loads at once.
  const edit = $("[data-edit]");
  if (edit) edit.addEventListener("click", (event) => {
    event.preventDefault();
    const box = $("#script-edit");
    box.hidden = false;
    const first = $("textarea", box);
    if (first) first.focus();
  });
  const add = $("[data-add-row]");
  if (add) add.addEventListener("click", (event) => {
    const body = $("[data-rows]");
    const last = body && body.lastElementChild;
    if (!last) return;
    event.preventDefault();
    const row = last.cloneNode(true);
    const index = body.children.length + 1;
    row.classList.remove("has-error");
    $$(".field-error", row).forEach((p) => p.remove());
    $$("input", row).forEach((input) => {
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      if (input.id) input.id = input.id.replace(/\d+/, String(index - 1));
      const label = input.getAttribute("aria-label");
      if (label) input.setAttribute("aria-label", label.replace(/\d+$/, String(index)));
    });
    body.appendChild(row);
    $("input", row).focus();
  });
  const file = $("[data-autosubmit]");
  if (file) file.addEventListener("change", () => {
    const upload = $("[data-upload]");
    if (file.files.length && upload) file.form.requestSubmit(upload);
  });

  // Screen 3: the dashboard follows the status stream; EventSource resumes with Last-Event-ID.
  const dash = $("[data-dashboard]");
  if (dash) live(dash);

  function live(dash) {
    const id = dash.dataset.campaign;
    const labels = JSON.parse(dash.dataset.labels || "{}");
    const note = $("[data-live-note]");
    const lang = document.documentElement.lang;
    let etaTimer = null;
    const setText = (sel, value) => { const el = $(sel); if (el) el.textContent = value; };
    const refreshEta = () => {
      if (etaTimer) return;
      etaTimer = window.setTimeout(async () => {
        etaTimer = null;
        const answer = await fetch(`/api/v1/campaigns/${id}`, { headers: { accept: "application/json" } });
        if (!answer.ok) return;
        const eta = (await answer.json()).data.eta;
        if (!eta.estimatedCompletionAt) { setText("[data-eta]", "-"); return; }
        const at = new Date(eta.estimatedCompletionAt).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Seoul" });
        setText("[data-eta]", `${at} (${Math.ceil(eta.etaSeconds / 60)} ${lang === "ko" ? "분 남음" : "min left"})`);
      }, 2000);
    };
    const status = (data) => {
      const p = data.progress;
      const percent = p.total ? Math.floor((p.finished * 100) / p.total) : 0;
      $("[data-bar]").value = percent;
      setText("[data-percent]", percent);
      setText("[data-finished]", p.finished);
      setText("[data-total]", p.total);
      setText('[data-count="completed"]', p.completed);
      setText('[data-count="inProgress"]', p.inProgress);
      setText('[data-count="pending"]', p.pending);
      setText('[data-count="failed"]', p.failed + p.noAnswer);
      const badge = $("[data-campaign-status]");
      badge.textContent = labels[data.status] || data.status;
      badge.className = `badge st-${data.status}`;
      if (data.status === "COMPLETED" || data.status === "CANCELLED") {
        $$("[data-actions] form").forEach((form) => form.remove());
      }
      refreshEta();
    };
    const callUpdate = (data) => {
      const row = $(`tr[data-call-id="${data.callId}"]`);
      if (!row) return;
      const st = $("[data-status]", row);
      st.textContent = labels[data.status] || data.status;
      st.className = `st st-${data.status}`;
      $("[data-result]", row).textContent = data.result ? (labels[data.result] || data.result) : "-";
      if (data.duration != null) {
        const s = data.duration;
        $("[data-duration]", row).textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
      }
    };
    if (!dash.dataset.live) return;
    const source = new EventSource(`/api/v1/campaigns/${id}/status`);
    source.addEventListener("status", (e) => status(JSON.parse(e.data)));
    source.addEventListener("call_update", (e) => callUpdate(JSON.parse(e.data)));
    source.addEventListener("completed", (e) => {
      const data = JSON.parse(e.data);
      status({ status: data.status, progress: {
        total: data.summary.total, finished: data.summary.total, completed: data.summary.completed,
        inProgress: 0, pending: 0, failed: data.summary.failed, noAnswer: data.summary.noAnswer } });
      source.close();
    });
    source.addEventListener("open", () => { if (note) note.textContent = ""; });
    source.addEventListener("error", () => { if (note && source.readyState !== EventSource.CLOSED) note.textContent = note.dataset.off || "…"; });
  }

  // Call detail: opens in a dialog; the recording plays from a short-lived signed link.
  const dialog = $("#call-dialog");
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("[data-open-call]");
    if (!link || !dialog) return;
    event.preventDefault();
    const answer = await fetch(`${link.getAttribute("href")}?panel=1`);
    if (!answer.ok) { window.location = link.href; return; }
    $("[data-dialog-body]", dialog).innerHTML = await answer.text();
    dialog.showModal();
    recording($("[data-recording]", dialog));
  });
  const page = $("[data-recording]");
  if (page && !dialog) recording(page);

  async function recording(box) {
    if (!box) return;
    const answer = await fetch(`/api/v1/calls/${box.dataset.recording}/recording`, { headers: { accept: "application/json" } });
    if (!answer.ok) { $("[data-consent-no]", box).hidden = false; return; }
    const data = (await answer.json()).data;
    const url = new URL(data.recordingUrl, window.location.href);
    const audio = $("[data-audio]", box);
    audio.src = url.pathname + url.search;
    audio.hidden = false;
    $("[data-consent-yes]", box).hidden = false;
  }

  // Reports: the API renders the file and answers a signed link, which the browser downloads.
  $$("[data-report]").forEach((button) => button.addEventListener("click", async () => {
    const note = $("[data-report-note]");
    const id = $("[data-dashboard]").dataset.campaign;
    button.disabled = true;
    try {
      const answer = await fetch(`/api/v1/campaigns/${id}/report`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf() },
        body: JSON.stringify({ format: button.dataset.report }),
      });
      const body = await answer.json();
      if (!answer.ok) { note.textContent = body.error.message; return; }
      const url = new URL(body.data.downloadUrl, window.location.href);
      const a = document.createElement("a");
      a.href = url.pathname + url.search;
      a.download = "";
      document.body.appendChild(a);
      a.click();
      a.remove();
    } finally {
      button.disabled = false;
    }
  }));
})();
