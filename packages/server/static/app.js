/* restic-manager web UI: toasts, relative times, copy buttons, field errors, live job log.
   Plain browser JavaScript, no build step. Loaded after htmx.min.js with `defer`. */
/* global document, window, WebSocket, fetch, navigator, htmx, CSS, setInterval */
'use strict';

(function () {
  // ---------------------------------------------------------------- toasts
  function toastRegion() {
    let r = document.getElementById('toasts');
    if (!r) {
      r = document.createElement('div');
      r.id = 'toasts';
      r.className = 'toasts';
      document.body.appendChild(r);
    }
    return r;
  }

  /** Shows `message` as a toast; kind: 'error' (default) | 'ok' | 'info'. Errors stay until closed. */
  function toast(message, kind) {
    kind = kind || 'error';
    const el = document.createElement('div');
    el.className = 'toast ' + (kind === 'error' ? '' : kind);
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    el.dataset.kind = kind;
    const msg = document.createElement('div');
    msg.className = 'msg';
    msg.textContent = message;
    const close = document.createElement('button');
    close.type = 'button';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => el.remove());
    el.append(msg, close);
    toastRegion().appendChild(el);
    setTimeout(() => el.remove(), kind === 'error' ? 12000 : 5000);
  }
  window.rmToast = toast;

  /** Extracts the readable error text from a failed response: the REST JSON body, plain text, or HTML. */
  function errorText(xhr) {
    const body = (xhr.responseText || '').trim();
    const type = xhr.getResponseHeader('content-type') || '';
    if (type.includes('json')) {
      try {
        const j = JSON.parse(body);
        if (j && j.error) {
          let message = j.error.message || j.error.code;
          const first = j.error.fields ? Object.values(j.error.fields)[0] : null;
          if (first && !message.includes(first)) message += ' — ' + first;
          return { message, fields: j.error.fields };
        }
      } catch {
        /* fall through */
      }
    }
    if (type.includes('html')) {
      const d = document.createElement('div');
      d.innerHTML = body;
      const t = (d.textContent || '').replace(/\s+/g, ' ').trim();
      if (t) return { message: t.slice(0, 400) };
    }
    if (body) return { message: body.slice(0, 400) };
    return { message: 'Request failed: HTTP ' + xhr.status + (xhr.statusText ? ' ' + xhr.statusText : '') };
  }

  function clearFieldErrors(form) {
    form.querySelectorAll('[data-field-error]').forEach((e) => {
      e.textContent = '';
      e.hidden = true;
    });
    form.querySelectorAll('[aria-invalid="true"]').forEach((e) => e.removeAttribute('aria-invalid'));
  }

  /** Puts `fields` ({ 'repository.url': 'msg' }) next to the matching inputs of `form`. */
  function showFieldErrors(form, fields) {
    let first = null;
    for (const [name, message] of Object.entries(fields)) {
      // `tags.1` falls back to the `tags` slot/input (errors on list items).
      let key = name;
      let slot = null;
      let input = null;
      while (key) {
        slot = form.querySelector('[data-field-error="' + CSS.escape(key) + '"]');
        input = form.querySelector('[name="' + CSS.escape(key) + '"]');
        if (slot || input) break;
        key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : '';
      }
      // An error inside a closed disclosure (<details>) would be invisible: open it.
      const box = (slot || input) && (slot || input).closest('details');
      if (box) box.open = true;
      if (slot) {
        slot.textContent = message;
        slot.hidden = false;
      }
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        first = first || input;
      }
    }
    if (first) first.focus();
  }

  // Only the form's own submission clears its field errors: a side request from inside the form
  // (the debounced cron preview, say) must not wipe errors the submission just showed.
  document.addEventListener('htmx:beforeRequest', (e) => {
    const elt = e.detail.elt;
    if (elt && elt.tagName === 'FORM') clearFieldErrors(elt);
  });
  document.addEventListener('htmx:responseError', (e) => {
    const xhr = e.detail.xhr;
    const err = errorText(xhr);
    toast(err.message, 'error');
    const form = e.detail.elt.closest && e.detail.elt.closest('form');
    if (form && err.fields) showFieldErrors(form, err.fields);
    if (xhr.status === 401) setTimeout(() => (window.location.href = '/login?next=' + encodeURIComponent(window.location.pathname)), 1200);
  });
  document.addEventListener('htmx:sendError', () => toast('Cannot reach the server. Check your connection and try again.'));
  // Server-pushed notifications: `HX-Trigger: {"rm:toast": {"message": "...", "kind": "ok"}}`.
  document.addEventListener('rm:toast', (e) => {
    const d = e.detail || {};
    toast(d.message || d.value || String(d), d.kind || 'ok');
  });

  // ---------------------------------------------------------------- relative times
  const rtf = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
  const units = [
    ['year', 365 * 86400], ['month', 30 * 86400], ['week', 7 * 86400], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1],
  ];
  function relative(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return null;
    const diff = (t - Date.now()) / 1000;
    const abs = Math.abs(diff);
    if (abs < 45) return diff <= 0 ? 'just now' : 'in a few seconds';
    for (const [unit, secs] of units) {
      if (abs >= secs || unit === 'second') {
        const v = Math.round(diff / secs);
        return rtf ? rtf.format(v, unit) : Math.abs(v) + ' ' + unit + (Math.abs(v) === 1 ? '' : 's') + (v < 0 ? ' ago' : '');
      }
    }
    return null;
  }
  function refreshTimes(root) {
    (root || document).querySelectorAll('time[data-rel]').forEach((el) => {
      const r = relative(el.getAttribute('datetime'));
      if (r) el.textContent = r;
    });
  }
  setInterval(() => refreshTimes(document), 30000);

  // ---------------------------------------------------------------- copy buttons
  document.addEventListener('click', (e) => {
    const btn = e.target.closest && e.target.closest('[data-copy]');
    if (!btn) return;
    const src = document.getElementById(btn.getAttribute('data-copy'));
    if (!src) return;
    const text = src.textContent || '';
    const done = () => {
      const old = btn.textContent;
      btn.textContent = 'Copied';
      setTimeout(() => (btn.textContent = old), 1500);
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, () => toast('Copy failed: select the text and copy it by hand.'));
    else {
      const range = document.createRange();
      range.selectNodeContents(src);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      toast('Text selected: press Ctrl+C to copy.', 'info');
    }
  });

  // ---------------------------------------------------------------- live job log
  function fmtBytes(n) {
    if (n == null) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + u[i];
  }
  function fmtDuration(s) {
    if (s == null || !isFinite(s)) return '—';
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? h + 'h ' + m + 'm' : m ? m + 'm ' + sec + 's' : sec + 's';
  }

  function initLiveLog(root) {
    if (root.dataset.bound) return;
    root.dataset.bound = '1';
    const jobId = root.dataset.jobId;
    const logEl = root.querySelector('.log');
    const stateEl = root.querySelector('.live-dot');
    const pauseBtn = root.querySelector('[data-log-pause]');
    const endBtn = root.querySelector('[data-log-end]');
    const shown = new Set();
    logEl.querySelectorAll('[data-seq]').forEach((l) => shown.add(Number(l.dataset.seq)));
    let lastSeq = Number(root.dataset.lastSeq || '-1');
    let paused = false;
    let pending = [];
    let finished = root.dataset.terminal === 'true';

    function setState(s, label) {
      if (!stateEl) return;
      stateEl.dataset.state = s;
      stateEl.textContent = label;
    }
    function atBottom() {
      return logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 24;
    }

    function lineEl(f) {
      const line = document.createElement('span');
      line.className = 'line ' + f.stream;
      line.dataset.seq = String(f.seq);
      const seq = document.createElement('span');
      seq.className = 'seq';
      seq.textContent = String(f.seq);
      const msg = document.createElement('span');
      msg.className = 'msg';
      msg.textContent = f.payload;
      line.append(seq, msg);
      return line;
    }
    function append(frames) {
      const empty = logEl.querySelector('.log-empty');
      const fresh = frames.filter((f) => !shown.has(f.seq)).sort((a, b) => a.seq - b.seq);
      if (fresh.length === 0) return;
      // follow the end only if the reader is at the end now (scrolling up stops following)
      const stick = atBottom();
      if (empty) empty.remove();
      for (const f of fresh) {
        if (shown.has(f.seq)) continue; // the same seq twice in one batch (a replayed frame)
        shown.add(f.seq);
        lastSeq = Math.max(lastSeq, f.seq);
        // keep order even when a gap-fill arrives after newer live lines
        let next = null;
        for (const el of logEl.querySelectorAll('[data-seq]')) if (Number(el.dataset.seq) > f.seq) { next = el; break; }
        logEl.insertBefore(lineEl(f), next);
      }
      if (stick) logEl.scrollTop = logEl.scrollHeight;
    }
    function push(frames) {
      if (paused) pending = pending.concat(frames);
      else append(frames);
    }

    async function fillGap() {
      try {
        let after = lastSeq;
        for (let i = 0; i < 20; i++) {
          const r = await fetch('/api/jobs/' + encodeURIComponent(jobId) + '/logs?after_seq=' + after + '&limit=1000', { credentials: 'same-origin' });
          if (!r.ok) return;
          const body = await r.json();
          const items = body.items || [];
          push(items);
          if (items.length < 1000) return;
          after = items[items.length - 1].seq;
        }
      } catch {
        /* the live stream still delivers new lines */
      }
    }

    function progress(p) {
      // the progress bar lives in the summary card (#job-summary), not in the log card
      const bar = document.querySelector('[data-progress-bar]');
      if (bar) bar.style.width = Math.round(p.percent_done * 1000) / 10 + '%';
      const set = (k, v) => { const el = document.querySelector('[data-progress="' + k + '"]'); if (el) el.textContent = v; };
      set('percent', (Math.round(p.percent_done * 1000) / 10).toFixed(1) + '%');
      set('files', p.files_done + (p.total_files != null ? ' / ' + p.total_files : ''));
      set('bytes', fmtBytes(p.bytes_done) + (p.total_bytes != null ? ' / ' + fmtBytes(p.total_bytes) : ''));
      set('eta', fmtDuration(p.eta_seconds));
      set('throughput', p.throughput_bps != null ? fmtBytes(p.throughput_bps) + '/s' : '—');
      const wrap = document.querySelector('[data-progress-wrap]');
      if (wrap) wrap.hidden = false;
    }

    function onFinished(f) {
      if (finished && root.dataset.reloaded) return;
      finished = true;
      root.dataset.terminal = 'true';
      setState('closed', 'Finished: ' + f.status);
      fillGap().then(() => {
        root.dataset.reloaded = '1';
        // Re-render the summary (status, timings, stats) from the server.
        const summary = document.getElementById('job-summary');
        if (summary && window.htmx) htmx.ajax('GET', summary.getAttribute('data-src'), { target: '#job-summary', swap: 'outerHTML' });
      });
    }

    if (pauseBtn) pauseBtn.addEventListener('click', () => {
      paused = !paused;
      pauseBtn.textContent = paused ? 'Resume' : 'Pause';
      pauseBtn.setAttribute('aria-pressed', String(paused));
      if (!paused) { const p = pending; pending = []; append(p); }
    });
    if (endBtn) endBtn.addEventListener('click', () => {
      if (paused && pauseBtn) pauseBtn.click();
      logEl.scrollTop = logEl.scrollHeight;
    });
    logEl.scrollTop = logEl.scrollHeight;

    if (finished) { setState('closed', 'Finished'); return; }

    let attempts = 0;
    function connect() {
      const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(proto + '//' + window.location.host + '/api/jobs/' + encodeURIComponent(jobId) + '/stream');
      let buffered = [];
      let ready = false;
      setState('connecting', 'Connecting…');
      ws.addEventListener('open', () => {
        attempts = 0;
        setState('live', 'Live');
        // Subscribe first, then fetch what was written before the subscription (no gap, no dupes).
        fillGap().then(() => { ready = true; push(buffered); buffered = []; });
      });
      ws.addEventListener('message', (ev) => {
        let f;
        try { f = JSON.parse(ev.data); } catch { return; }
        if (f.type === 'log.stream') { if (ready) push([f]); else buffered.push(f); }
        else if (f.type === 'job.progress') progress(f);
        else if (f.type === 'job.started') setState('live', 'Live');
        else if (f.type === 'job.finished') onFinished(f);
        else if (f.type === 'error') toast(f.message || 'Live stream error');
      });
      ws.addEventListener('close', () => {
        if (finished) return;
        setState('connecting', 'Reconnecting…');
        attempts++;
        setTimeout(connect, Math.min(10000, 500 * 2 ** attempts));
      });
    }
    connect();
  }

  function init(root) {
    refreshTimes(root);
    if (root.matches && root.matches('[data-live-log]')) initLiveLog(root);
    root.querySelectorAll('[data-live-log]').forEach(initLiveLog);
  }
  document.addEventListener('DOMContentLoaded', () => {
    init(document);
    // a sideways-scrolling tab bar (narrow screens) shows the current tab
    document.querySelectorAll('.tabs [aria-current="page"]').forEach((t) => {
      const bar = t.parentElement;
      if (bar && bar.scrollWidth > bar.clientWidth) bar.scrollLeft = t.getBoundingClientRect().left - bar.getBoundingClientRect().left - (bar.clientWidth - t.offsetWidth) / 2;
    });
  });
  document.addEventListener('htmx:load', (e) => init(e.detail.elt));
})();
