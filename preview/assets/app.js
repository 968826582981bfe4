// vpipe preview: the page of one image project. Everything it shows is in
// data.js (window.VPIPE_DATA, written by vpipe preview; rows documented in
// preview/site.go); it loads nothing from the network.
(function () {
  'use strict';
  const D = window.VPIPE_DATA;
  const $ = (id) => document.getElementById(id);
  if (!D) { $('grid').textContent = 'data.js did not load: open index.html from the folder vpipe preview wrote.'; return; }
  const IMG = D.images, VID = D.videos, CLS = D.classes, TAGS = D.tags;
  // image row: [name, video, frame, time_s, pts, width, height, bytes, labels, tags, problems]
  const NAME = 0, VIDEO = 1, FRAME = 2, TIME = 3, PTS = 4, W = 5, H = 6, SIZE = 7, LABELS = 8, ITAGS = 9, PROBS = 10;
  // video row: [name, dataset, split, folder key, frames]
  const KINDS = { r: 'rectangle', p: 'polygon', l: 'line', o: 'point', g: 'graph', b: 'bitmap' };
  const state = { class: '', tag: '', video: '', dataset: '', split: '', labelled: '', page: 0 };
  let shown = [];

  const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);
  const segs = (p) => p.split('/').map(encodeURIComponent).join('/');
  const key = (i) => VID[IMG[i][VIDEO]][3] + '/img/' + IMG[i][NAME];
  const thumbURL = (i) => D.thumbs + segs(VID[IMG[i][VIDEO]][3] + '/' + IMG[i][NAME] + '.' + IMG[i][SIZE] + '.jpg');
  function fullURL(i) {
    const base = window.VPIPE_SERVED || D.base;
    return base == null ? thumbURL(i) : base + segs(key(i));
  }
  const tagIdx = (t) => (typeof t === 'number' ? t : t[0]);
  const tagText = (t) => (typeof t === 'number' ? TAGS[t] : TAGS[t[0]] + ': ' + t[1]);
  const labelsOf = (i) => IMG[i][LABELS] || [];
  const num = (x) => (x == null ? '–' : x);

  // --- labels as SVG, in image pixels (the viewBox is the image's size) ---
  function pts(a) {
    let s = '';
    for (let k = 0; k < a.length; k += 2) s += (k ? ' ' : '') + (a[k] + 0.5) + ',' + (a[k + 1] + 0.5);
    return s;
  }
  const dot = (x, y, cls) => `<path class="dot${cls || ''}" d="M${x + 0.5} ${y + 0.5}h0"/>`;
  function graph(c, g) {
    const at = {};
    let s = '';
    for (const n of g) at[n[0]] = n;
    for (const e of c.e || []) {
      const a = at[e[0]], b = at[e[1]];
      if (a && b) s += `<line class="open${a[3] || b[3] ? ' off' : ''}" x1="${a[1] + 0.5}" y1="${a[2] + 0.5}" x2="${b[1] + 0.5}" y2="${b[2] + 0.5}"/>`;
    }
    for (const n of g) s += dot(n[1], n[2], n[3] ? ' off' : '');
    return s;
  }
  function shape(l) {
    const g = l[2];
    switch (l[1]) {
      case 'r': return `<rect x="${g[0]}" y="${g[1]}" width="${g[2] - g[0] + 1}" height="${g[3] - g[1] + 1}"/>`;
      case 'p': return `<path fill-rule="evenodd" d="${g.map((r) => 'M' + pts(r) + 'Z').join('')}"/>`;
      case 'l': return `<polyline class="open" points="${pts(g)}"/>`;
      case 'o': return dot(g[0], g[1]);
      case 'g': return graph(CLS[l[0]], g);
      case 'b': return `<image href="${g[4]}" x="${g[0]}" y="${g[1]}" width="${g[2]}" height="${g[3]}" preserveAspectRatio="none"/>`;
    }
    return ''; // a geometry the page does not draw: listed in the full view
  }
  function svg(i) {
    const im = IMG[i];
    if (!im[W] || !im[H]) return '';
    let s = `<svg class="labels" viewBox="0 0 ${im[W]} ${im[H]}" preserveAspectRatio="none">`;
    labelsOf(i).forEach((l, li) => {
      const c = CLS[l[0]];
      s += `<g data-label="${li}" data-class="${esc(c.t)}" stroke="${c.c}" fill="${c.c}">${shape(l)}</g>`;
    });
    return s + '</svg>';
  }

  // --- filters ---
  function hasTag(im, t) {
    for (const x of im[ITAGS] || []) if (tagIdx(x) === t) return true;
    for (const l of im[LABELS] || []) for (const x of l[4] || []) if (tagIdx(x) === t) return true;
    return false;
  }
  function matcher() {
    const f = {};
    for (const k of ['class', 'tag', 'video', 'dataset', 'split']) f[k] = state[k] === '' ? -1 : +state[k];
    return (i) => {
      const im = IMG[i], v = VID[im[VIDEO]], ls = im[LABELS] || [];
      if (f.video >= 0 && im[VIDEO] !== f.video) return false;
      if (f.dataset >= 0 && v[1] !== f.dataset) return false;
      if (f.split >= 0 && v[2] !== f.split) return false;
      if (state.labelled === 'yes' && !ls.length) return false;
      if (state.labelled === 'no' && ls.length) return false;
      if (f.class >= 0 && !ls.some((l) => l[0] === f.class)) return false;
      if (f.tag >= 0 && !hasTag(im, f.tag)) return false;
      return true;
    };
  }
  function filter() {
    const ok = matcher();
    shown = [];
    for (let i = 0; i < IMG.length; i++) if (ok(i)) shown.push(i);
    state.page = 0;
  }

  // --- the grid, a page at a time ---
  function caption(i) {
    const im = IMG[i], v = VID[im[VIDEO]];
    const t = im[TIME] == null ? '' : ' · ' + (+im[TIME]).toFixed(3) + ' s';
    return `<figcaption><b title="${esc(im[NAME])}">${esc(im[NAME])}</b><span>${esc(v[0])} · frame ${num(im[FRAME])}${t}</span></figcaption>`;
  }
  function card(i) {
    const im = IMG[i];
    const ar = im[W] && im[H] ? `${im[W]}/${im[H]}` : '4/3';
    const prob = im[PROBS] ? ' problem' : '';
    return `<figure class="card${prob}" data-image="${esc(key(i))}" data-i="${i}"><div class="pic" style="aspect-ratio:${ar}">` +
      `<img loading="lazy" decoding="async" alt="" src="${esc(thumbURL(i))}">${svg(i)}</div>${caption(i)}</figure>`;
  }
  function pages() { return Math.max(1, Math.ceil(shown.length / D.page)); }
  function renderPage() {
    const from = state.page * D.page, to = Math.min(shown.length, from + D.page);
    let s = '';
    for (let k = from; k < to; k++) s += card(shown[k]);
    $('grid').innerHTML = s || '<p>No image matches these filters.</p>';
    const p = `<button type="button" data-go="-1"${state.page ? '' : ' disabled'}>◀ previous</button>` +
      `<span>page <input type="number" min="1" max="${pages()}" value="${state.page + 1}"> of ${pages()}` +
      ` · images ${shown.length ? from + 1 : 0}–${to} of ${shown.length}</span>` +
      `<button type="button" data-go="1"${state.page + 1 < pages() ? '' : ' disabled'}>next ▶</button>`;
    $('pager-top').innerHTML = p;
    $('pager-bottom').innerHTML = p;
    $('count').textContent = `${shown.length} of ${IMG.length} images shown`;
  }
  function go(page) {
    state.page = Math.min(Math.max(0, page), pages() - 1);
    renderPage();
  }

  // --- numbers and strips, for the images shown ---
  function countRows(rows, limit) {
    let s = '';
    rows.slice(0, limit).forEach((r) => { s += `<tr><td>${r[0]}</td><td class="n">${r[1]}</td>${r[2] != null ? `<td class="n">${r[2]}</td>` : ''}</tr>`; });
    if (rows.length > limit) s += `<tr><td colspan="3">… and ${rows.length - limit} more</td></tr>`;
    return s;
  }
  function renderNumbers() {
    const perVideo = new Map(), perClass = new Array(CLS.length).fill(0);
    let unlabelled = 0, labels = 0;
    for (const i of shown) {
      const im = IMG[i], ls = im[LABELS] || [];
      const c = perVideo.get(im[VIDEO]) || [0, 0];
      c[0]++; c[1] += ls.length;
      perVideo.set(im[VIDEO], c);
      if (!ls.length) unlabelled++;
      labels += ls.length;
      for (const l of ls) perClass[l[0]]++;
    }
    const vids = [...perVideo].map(([v, c]) => [`${esc(VID[v][0])} <small>${esc(D.datasets[VID[v][1]])}</small>`, c[0], c[1]]);
    const cls = CLS.map((c, k) => [`<span class="sw" style="background:${c.c}"></span>${esc(c.t)}`, perClass[k]]).filter((r) => r[1] > 0);
    $('numbers-body').innerHTML =
      `<table id="n-totals"><tr><th>images</th><td class="n">${shown.length}</td></tr>` +
      `<tr><th>labels</th><td class="n">${labels}</td></tr>` +
      `<tr><th>unlabelled images</th><td class="n" id="n-unlabelled">${unlabelled}</td></tr>` +
      `<tr><th>videos</th><td class="n">${perVideo.size}</td></tr></table>` +
      `<table id="n-videos"><tr><th>video</th><th class="n">images</th><th class="n">labels</th></tr>${countRows(vids, 50)}</table>` +
      `<table id="n-classes"><tr><th>class</th><th class="n">labels</th></tr>${countRows(cls, 100)}</table>`;
  }
  function renderStrips() {
    const byVideo = new Map();
    for (const i of shown) {
      const v = IMG[i][VIDEO];
      if (!byVideo.has(v)) byVideo.set(v, []);
      byVideo.get(v).push(i);
    }
    let s = '', n = 0;
    for (const [v, is] of byVideo) {
      if (++n > 100) { s += `<p>… and ${byVideo.size - 100} more videos (choose one above)</p>`; break; }
      const frames = Math.max(1, VID[v][4]);
      let lab = '', unl = '';
      for (const i of is) {
        const f = IMG[i][FRAME];
        if (f == null) continue;
        if ((IMG[i][LABELS] || []).length) lab += `M${f + 0.5} 0v10`; else unl += `M${f + 0.5} 0v10`;
      }
      s += `<div class="strip" data-video="${v}" title="show only this video"><span class="name">${esc(VID[v][0])}</span>` +
        `<svg viewBox="0 0 ${frames} 10" preserveAspectRatio="none"><path class="unl" d="${unl}"/><path class="lab" d="${lab}"/></svg>` +
        `<span class="meta">${is.length} of frames 0–${frames - 1}</span></div>`;
    }
    $('strips-body').innerHTML = s;
  }

  // --- select options, with counts over the whole project ---
  function fillFilters() {
    const cls = new Array(CLS.length).fill(0), tags = new Array(TAGS.length).fill(0);
    const vids = new Array(VID.length).fill(0), ds = new Array(D.datasets.length).fill(0), sp = new Array(D.splits.length).fill(0);
    for (let i = 0; i < IMG.length; i++) {
      const im = IMG[i], v = VID[im[VIDEO]];
      vids[im[VIDEO]]++; ds[v[1]]++; sp[v[2]]++;
      const seenC = new Set(), seenT = new Set();
      for (const t of im[ITAGS] || []) seenT.add(tagIdx(t));
      for (const l of im[LABELS] || []) {
        seenC.add(l[0]);
        for (const t of l[4] || []) seenT.add(tagIdx(t));
      }
      for (const c of seenC) cls[c]++;
      for (const t of seenT) tags[t]++;
    }
    const opts = (id, names, counts) => {
      let s = $(id).options[0].outerHTML;
      names.forEach((nm, k) => { if (counts[k]) s += `<option value="${k}">${esc(nm)} (${counts[k]})</option>`; });
      $(id).innerHTML = s;
    };
    opts('f-class', CLS.map((c) => c.t), cls);
    opts('f-tag', TAGS, tags);
    opts('f-video', VID.map((v) => v[0] + ' — ' + D.datasets[v[1]]), vids);
    opts('f-dataset', D.datasets, ds);
    opts('f-split', D.splits, sp);
  }
  function refresh() {
    filter();
    renderPage();
    renderNumbers();
    renderStrips();
  }

  // --- the full view ---
  let open = -1;
  function full(i) {
    open = i;
    const im = IMG[i], v = VID[im[VIDEO]];
    $('full-pic').innerHTML = `<div class="box"><img alt="" src="${esc(fullURL(i))}">${svg(i)}</div>`;
    const tagList = (ts) => (ts && ts.length ? ts.map((t) => esc(tagText(t))).join(', ') : '–');
    let s = `<h2>${esc(im[NAME])}</h2><table>` +
      `<tr><th>video</th><td>${esc(v[0])}</td></tr><tr><th>dataset</th><td>${esc(D.datasets[v[1]])}</td></tr>` +
      `<tr><th>frame</th><td>${num(im[FRAME])}</td></tr><tr><th>time</th><td>${im[TIME] == null ? '–' : im[TIME] + ' s'}</td></tr>` +
      `<tr><th>pts</th><td>${num(im[PTS])}</td></tr><tr><th>size</th><td>${im[W]}×${im[H]}</td></tr>` +
      `<tr><th>tags</th><td>${tagList(im[ITAGS])}</td></tr></table>`;
    if (im[PROBS]) s += `<h3 class="problem">problems</h3><ul class="problem">${im[PROBS].map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`;
    const ls = labelsOf(i);
    s += `<h3>${ls.length} label${ls.length === 1 ? '' : 's'}</h3><ul id="full-labels">`;
    ls.forEach((l, li) => {
      const c = CLS[l[0]];
      s += `<li data-label="${li}" data-class="${esc(c.t)}"><span class="sw" style="background:${c.c}"></span><b>${esc(c.t)}</b> ` +
        `${KINDS[l[1]] || esc(l[2]) + ' (not drawn)'}` +
        `${l[3] != null ? ` · object_id <span class="oid">${esc(l[3])}</span>` : ''}` +
        `${l[4] ? ` · ${tagList(l[4])}` : ''}</li>`;
    });
    s += `</ul><p><a href="${esc(fullURL(i))}" target="_blank" rel="noopener">open the image</a> · <small>${esc(key(i))}</small></p>`;
    $('full-info').innerHTML = s;
    $('full').hidden = false;
    fit();
  }
  // fit scales the full view's image (and its labels with it) to the space
  // beside the panel, small frames up as well as large ones down.
  function fit() {
    const im = IMG[open], area = $('full-pic'), box = area.querySelector('.box');
    if (!box || !im[W] || !im[H]) return;
    const k = Math.min(area.clientWidth / im[W], area.clientHeight / im[H]);
    box.style.width = Math.floor(im[W] * k) + 'px';
    box.style.height = Math.floor(im[H] * k) + 'px';
    box.classList.toggle('up', k > 1); // a small frame enlarged: show its pixels, not a blur
  }
  window.addEventListener('resize', () => { if (open >= 0) fit(); });
  function close() { $('full').hidden = true; open = -1; }

  // --- events ---
  document.querySelectorAll('[data-filter]').forEach((el) => el.addEventListener('change', () => {
    state[el.dataset.filter] = el.value;
    refresh();
  }));
  $('f-reset').addEventListener('click', () => {
    document.querySelectorAll('[data-filter]').forEach((el) => { el.value = ''; state[el.dataset.filter] = ''; });
    refresh();
  });
  for (const id of ['pager-top', 'pager-bottom']) {
    $(id).addEventListener('click', (e) => { const b = e.target.closest('[data-go]'); if (b) go(state.page + +b.dataset.go); });
    $(id).addEventListener('change', (e) => { if (e.target.tagName === 'INPUT') go(+e.target.value - 1); });
  }
  $('grid').addEventListener('click', (e) => { const c = e.target.closest('.card'); if (c) full(+c.dataset.i); });
  $('strips-body').addEventListener('click', (e) => {
    const s = e.target.closest('.strip');
    if (!s) return;
    $('f-video').value = s.dataset.video;
    state.video = s.dataset.video;
    refresh();
  });
  $('full-close').addEventListener('click', close);
  $('full').addEventListener('click', (e) => { if (e.target.id === 'full' || e.target.id === 'full-pic') close(); });
  document.addEventListener('keydown', (e) => {
    if (open < 0) return;
    const k = shown.indexOf(open);
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowRight' && k + 1 < shown.length) full(shown[k + 1]);
    else if (e.key === 'ArrowLeft' && k > 0) full(shown[k - 1]);
  });

  // --- start: the first page first, then what takes a pass over every image ---
  document.title = (D.title || 'vpipe') + ' — vpipe preview';
  $('title').textContent = D.title || 'vpipe preview';
  $('summary').textContent = `${IMG.length} images · ${VID.length} videos · ${CLS.length} classes`;
  for (let i = 0; i < IMG.length; i++) shown.push(i);
  renderPage();
  // VPIPE_FIRST: ms from navigation to the first page of cards painted (tests read it).
  requestAnimationFrame(() => setTimeout(() => {
    window.VPIPE_FIRST = performance.now();
    fillFilters();
    renderNumbers();
    renderStrips();
    document.body.dataset.ready = '1';
  }, 0));
})();
