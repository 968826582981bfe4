// vpipe preview: the page of one image project. Its data are scripts vpipe
// preview wrote (documented in preview/data.go): data/index.js sets
// window.VPIPE_INDEX (classes, tags, videos, counts), and data/page-NNN.js
// chunks of image rows, each loaded by adding a <script> when one of its
// images is needed (a page opened from file:// may load a script, not fetch a
// file). It loads nothing from the network.
//
// Every string of the data (names, tags and their values, object ids, class
// titles, dataset and video names, problems) goes into the page through esc();
// numbers through num() or n(), which let only numbers through; a colour only
// when it is #RRGGBB; a mask only by the path the build gives it.
(function () {
  'use strict';
  const D = window.VPIPE_INDEX;
  const $ = (id) => document.getElementById(id);
  if (!D) { $('grid').textContent = 'data/index.js did not load: open index.html from the folder vpipe preview wrote.'; return; }
  const VID = D.videos, CLS = D.classes, TAGS = D.tags, N = D.images, CHUNK = D.chunk;
  // image row: [name, video, frame, time_s, pts, width, height, thumbnail key, labels, tags, problems]
  const NAME = 0, VIDEO = 1, FRAME = 2, TIME = 3, PTS = 4, W = 5, H = 6, THUMB = 7, LABELS = 8, ITAGS = 9, PROBS = 10;
  // video row: [name, dataset, split, folder key, frames, first image, images, labelled, labels, labelled runs, unlabelled runs]
  const V_DS = 1, V_SPLIT = 2, V_DIR = 3, V_FRAMES = 4, V_FIRST = 5, V_IMAGES = 6, V_LABELS = 8, V_LAB = 9, V_UNL = 10;
  const KINDS = { r: 'rectangle', p: 'polygon', l: 'line', o: 'point', g: 'graph', b: 'bitmap' };
  const state = { class: '', tag: '', video: '', dataset: '', split: '', labelled: '', page: 0 };

  const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);
  const isNum = (x) => typeof x === 'number' && isFinite(x);
  const num = (x) => (isNum(x) ? String(x) : '–'); // a number of the data as text, else a dash
  const n = (x) => (isNum(x) ? x : 0); // a coordinate: a number, else 0
  const colour = (c) => (/^#[0-9A-Fa-f]{6}$/.test(c) ? c : '#808080');
  const cls = (k) => CLS[k] || { t: '?', c: '#808080' };
  const segs = (p) => String(p).split('/').map(encodeURIComponent).join('/');
  const key = (im) => VID[im[VIDEO]][V_DIR] + '/img/' + im[NAME];
  const thumbURL = (im) => D.thumbs + segs(VID[im[VIDEO]][V_DIR] + '/' + im[NAME] + '.' + im[THUMB] + '.jpg');
  const base = () => window.VPIPE_SERVED || D.base; // a server's, else the folder's relative link; null: neither
  const fullURL = (im) => (base() == null ? thumbURL(im) : base() + segs(key(im)));
  const tagIdx = (t) => (typeof t === 'number' ? t : t[0]);
  const tagText = (t) => (typeof t === 'number' ? TAGS[t] : TAGS[t[0]] + ': ' + t[1]);
  const labelsOf = (im) => im[LABELS] || [];

  // --- busy: tests (and the cursor) know when the page has caught up ---
  let pending = 0;
  async function busy(fn) {
    pending++;
    document.body.dataset.ready = '0';
    try { return await fn(); } finally {
      if (--pending === 0) document.body.dataset.ready = '1';
    }
  }

  // --- chunks of image rows, loaded on demand, a few kept ---
  const chunks = new Map(), loading = new Map(), pinned = new Set();
  const KEEP = 12;
  window.VPIPE_CHUNK = (k, rows) => {
    const l = loading.get(k);
    if (!l) return;
    loading.delete(k);
    chunks.set(k, rows);
    for (const old of chunks.keys()) { // the oldest first: a Map keeps insertion order
      if (chunks.size <= KEEP) break;
      if (!pinned.has(old)) chunks.delete(old);
    }
    l.resolve(rows);
  };
  function chunk(k) {
    if (chunks.has(k)) {
      const rows = chunks.get(k);
      chunks.delete(k); chunks.set(k, rows); // used: the newest
      return Promise.resolve(rows);
    }
    if (loading.has(k)) return loading.get(k).promise;
    const l = {};
    l.promise = new Promise((resolve, reject) => { l.resolve = resolve; l.reject = reject; });
    loading.set(k, l);
    const s = document.createElement('script');
    s.src = 'data/page-' + String(k).padStart(3, '0') + '.js';
    s.onload = () => s.remove();
    s.onerror = () => { s.remove(); loading.delete(k); l.reject(new Error(s.src + ' did not load')); };
    document.head.appendChild(s);
    return l.promise;
  }
  const chunkOf = (i) => Math.floor(i / CHUNK);
  const row = (i) => chunks.get(chunkOf(i))[i % CHUNK]; // its chunk is loaded (see need)
  function need(is) { // loads the chunks of images is and keeps them while they are shown
    const ks = [...new Set(is.map(chunkOf))];
    pinned.clear();
    ks.forEach((k) => pinned.add(k));
    return Promise.all(ks.map(chunk));
  }

  // --- labels as SVG, in image pixels (the viewBox is the image's size) ---
  function pts(a) {
    let s = '';
    for (let k = 0; k + 1 < a.length; k += 2) s += (k ? ' ' : '') + (n(a[k]) + 0.5) + ',' + (n(a[k + 1]) + 0.5);
    return s;
  }
  const dot = (x, y, c) => `<path class="dot${c || ''}" d="M${n(x) + 0.5} ${n(y) + 0.5}h0"/>`;
  function graph(c, g) {
    const at = new Map();
    let s = '';
    for (const nd of g) at.set(nd[0], nd);
    for (const e of c.e || []) {
      const a = at.get(e[0]), b = at.get(e[1]);
      if (a && b) s += `<line class="open${a[3] || b[3] ? ' off' : ''}" x1="${n(a[1]) + 0.5}" y1="${n(a[2]) + 0.5}" x2="${n(b[1]) + 0.5}" y2="${n(b[2]) + 0.5}"/>`;
    }
    for (const nd of g) s += dot(nd[1], nd[2], nd[3] ? ' off' : '');
    return s;
  }
  function shape(l) {
    const g = l[2];
    if (!Array.isArray(g)) return ''; // a geometry the page does not draw: listed in the full view
    switch (l[1]) {
      case 'r': return `<rect x="${n(g[0])}" y="${n(g[1])}" width="${n(g[2]) - n(g[0]) + 1}" height="${n(g[3]) - n(g[1]) + 1}"/>`;
      case 'p': return `<path fill-rule="evenodd" d="${g.map((r) => 'M' + pts(r) + 'Z').join('')}"/>`;
      case 'l': return `<polyline class="open" points="${pts(g)}"/>`;
      case 'o': return dot(g[0], g[1]);
      case 'g': return graph(cls(l[0]), g);
      case 'b': // a mask file the build wrote, and nothing else
        if (!/^masks\/[0-9a-f]{2}\/[0-9a-f]+\.png$/.test(g[4])) return '';
        return `<image href="${esc(g[4])}" x="${n(g[0])}" y="${n(g[1])}" width="${n(g[2])}" height="${n(g[3])}" preserveAspectRatio="none"/>`;
    }
    return '';
  }
  function svg(im) {
    if (!(im[W] > 0 && im[H] > 0 && isNum(im[W]) && isNum(im[H]))) return '';
    let s = `<svg class="labels" viewBox="0 0 ${im[W]} ${im[H]}" preserveAspectRatio="none">`;
    labelsOf(im).forEach((l, li) => {
      const c = cls(l[0]), col = colour(c.c);
      s += `<g data-label="${li}" data-class="${esc(c.t)}" stroke="${col}" fill="${col}">${shape(l)}</g>`;
    });
    return s + '</svg>';
  }

  // --- filters: which images are shown ---
  let shown = null; // null: every image, in order; else the indexes of those that match
  let stats = null; // the numbers and strips of the images shown when filtered
  let scanGen = 0; // a newer filter abandons an older one's scan
  const count = () => (shown ? shown.length : N);
  const at = (k) => (shown ? shown[k] : k);
  function hasTag(im, t) {
    for (const x of im[ITAGS] || []) if (tagIdx(x) === t) return true;
    for (const l of im[LABELS] || []) for (const x of l[4] || []) if (tagIdx(x) === t) return true;
    return false;
  }
  function filters() {
    const f = {};
    for (const k of ['class', 'tag', 'video', 'dataset', 'split']) f[k] = state[k] === '' ? -1 : +state[k];
    f.none = Object.values(f).every((v) => v < 0) && state.labelled === '';
    return f;
  }
  function matches(f, im) {
    const ls = im[LABELS] || [];
    if (state.labelled === 'yes' && !ls.length) return false;
    if (state.labelled === 'no' && ls.length) return false;
    if (f.class >= 0 && !ls.some((l) => l[0] === f.class)) return false;
    if (f.tag >= 0 && !hasTag(im, f.tag)) return false;
    return true;
  }
  // candidates are the chunks that may hold a match: those of the videos the
  // video, dataset and split filters leave, and with the class and tag asked.
  function candidates(f, videoOK) {
    const ks = new Set();
    VID.forEach((v, k) => {
      if (!videoOK[k] || !v[V_IMAGES]) return;
      for (let c = chunkOf(v[V_FIRST]); c <= chunkOf(v[V_FIRST] + v[V_IMAGES] - 1); c++) ks.add(c);
    });
    return [...ks].sort((a, b) => a - b).filter((c) =>
      (f.class < 0 || D.chunk_classes[c].includes(f.class)) && (f.tag < 0 || D.chunk_tags[c].includes(f.tag)));
  }
  // scan loads the candidate chunks one by one and keeps the indexes of the
  // images that match, with their numbers; null when a newer filter came.
  async function scan(f, my) {
    const videoOK = VID.map((v, k) => (f.video < 0 || k === f.video) && (f.dataset < 0 || v[V_DS] === f.dataset) && (f.split < 0 || v[V_SPLIT] === f.split));
    const out = [], st = newStats();
    for (const c of candidates(f, videoOK)) {
      const rows = await chunk(c);
      if (my !== scanGen) return null;
      rows.forEach((im, j) => {
        if (videoOK[im[VIDEO]] && matches(f, im)) { out.push(c * CHUNK + j); tally(st, im); }
      });
    }
    return [out, st];
  }
  function newStats() { return { images: 0, labels: 0, unlabelled: 0, perVideo: new Map(), perClass: new Array(CLS.length).fill(0) }; }
  function tally(st, im) {
    const ls = im[LABELS] || [];
    let v = st.perVideo.get(im[VIDEO]);
    if (!v) st.perVideo.set(im[VIDEO], (v = { images: 0, labels: 0, lab: [], unl: [] }));
    v.images++; v.labels += ls.length;
    if (isNum(im[FRAME])) (ls.length ? v.lab : v.unl).push(im[FRAME]);
    st.images++; st.labels += ls.length;
    if (!ls.length) st.unlabelled++;
    for (const l of ls) if (isNum(st.perClass[l[0]])) st.perClass[l[0]]++;
  }
  // allStats are the numbers of every image, from the index alone (made once).
  let all = null;
  function allStats() {
    if (all) return all;
    const st = { images: N, labels: D.labels, unlabelled: D.unlabelled, perVideo: new Map(), perClass: D.class_labels };
    VID.forEach((v, k) => {
      if (v[V_IMAGES]) st.perVideo.set(k, { images: v[V_IMAGES], labels: v[V_LABELS], lab: expand(v[V_LAB]), unl: expand(v[V_UNL]) });
    });
    return (all = st);
  }
  function expand(runs) { // [start, step, count]... -> frames
    const out = [];
    for (let r = 0; r + 2 < runs.length; r += 3) for (let k = 0; k < runs[r + 2]; k++) out.push(runs[r] + k * runs[r + 1]);
    return out;
  }
  function refresh() {
    return busy(async () => {
      const my = ++scanGen, f = filters();
      if (f.none) { shown = null; stats = null; } else {
        const r = await scan(f, my);
        if (!r) return;
        [shown, stats] = r;
      }
      state.page = 0;
      await renderPage();
      if (my !== scanGen) return;
      renderNumbers();
      renderStrips();
    });
  }

  // --- the grid, a page at a time ---
  function caption(im) {
    const t = isNum(im[TIME]) ? ' · ' + im[TIME].toFixed(3) + ' s' : '';
    return `<figcaption><b title="${esc(im[NAME])}">${esc(im[NAME])}</b><span>${esc(VID[im[VIDEO]][0])} · frame ${num(im[FRAME])}${t}</span></figcaption>`;
  }
  function card(i) {
    const im = row(i);
    const ar = im[W] > 0 && im[H] > 0 && isNum(im[W]) && isNum(im[H]) ? `${im[W]}/${im[H]}` : '4/3';
    const pic = im[THUMB] == null ? '<span class="nothumb">no thumbnail</span>'
      : `<img loading="lazy" decoding="async" alt="" src="${esc(thumbURL(im))}">`;
    return `<figure class="card${im[PROBS] ? ' problem' : ''}" data-image="${esc(key(im))}" data-i="${i}"><div class="pic" style="aspect-ratio:${ar}">` +
      `${pic}${svg(im)}</div>${caption(im)}</figure>`;
  }
  const pages = () => Math.max(1, Math.ceil(count() / D.page));
  let pageGen = 0;
  async function renderPage() {
    const my = ++pageGen;
    const from = state.page * D.page, to = Math.min(count(), from + D.page), is = [];
    for (let k = from; k < to; k++) is.push(at(k));
    await need(is);
    if (my !== pageGen) return;
    $('grid').innerHTML = is.map(card).join('') || '<p>No image matches these filters.</p>';
    const p = `<button type="button" data-go="-1"${state.page ? '' : ' disabled'}>◀ previous</button>` +
      `<span>page <input type="number" min="1" max="${pages()}" value="${state.page + 1}"> of ${pages()}` +
      ` · images ${count() ? from + 1 : 0}–${to} of ${count()}</span>` +
      `<button type="button" data-go="1"${state.page + 1 < pages() ? '' : ' disabled'}>next ▶</button>`;
    $('pager-top').innerHTML = p;
    $('pager-bottom').innerHTML = p;
    $('count').textContent = `${count()} of ${N} images shown`;
  }
  function go(page) {
    state.page = Math.min(Math.max(0, page), pages() - 1);
    return busy(renderPage);
  }

  // --- numbers and strips, for the images shown ---
  function countRows(rows, limit) {
    let s = '';
    rows.slice(0, limit).forEach((r) => { s += `<tr><td>${r[0]}</td><td class="n">${num(r[1])}</td>${r[2] != null ? `<td class="n">${num(r[2])}</td>` : ''}</tr>`; });
    if (rows.length > limit) s += `<tr><td colspan="3">… and ${rows.length - limit} more</td></tr>`;
    return s;
  }
  function renderNumbers() {
    const st = stats || allStats();
    const vids = [...st.perVideo].map(([v, c]) => [`${esc(VID[v][0])} <small>${esc(D.datasets[VID[v][V_DS]])}</small>`, c.images, c.labels]);
    const cs = CLS.map((c, k) => [`<span class="sw" style="background:${colour(c.c)}"></span>${esc(c.t)}`, st.perClass[k] || 0]).filter((r) => r[1] > 0);
    $('numbers-body').innerHTML =
      `<table id="n-totals"><tr><th>images</th><td class="n">${num(st.images)}</td></tr>` +
      `<tr><th>labels</th><td class="n">${num(st.labels)}</td></tr>` +
      `<tr><th>unlabelled images</th><td class="n" id="n-unlabelled">${num(st.unlabelled)}</td></tr>` +
      `<tr><th>videos</th><td class="n">${st.perVideo.size}</td></tr></table>` +
      `<table id="n-videos"><tr><th>video</th><th class="n">images</th><th class="n">labels</th></tr>${countRows(vids, 50)}</table>` +
      `<table id="n-classes"><tr><th>class</th><th class="n">labels</th></tr>${countRows(cs, 100)}</table>`;
  }
  function renderStrips() {
    const st = stats || allStats();
    let s = '', k = 0;
    for (const [v, c] of st.perVideo) {
      if (++k > 100) { s += `<p>… and ${st.perVideo.size - 100} more videos (choose one above)</p>`; break; }
      const frames = Math.max(1, n(VID[v][V_FRAMES]));
      const ticks = (fs) => fs.map((f) => `M${n(f) + 0.5} 0v10`).join('');
      s += `<div class="strip" data-video="${v}" title="show only this video"><span class="name">${esc(VID[v][0])}</span>` +
        `<svg viewBox="0 0 ${frames} 10" preserveAspectRatio="none"><path class="unl" d="${ticks(c.unl)}"/><path class="lab" d="${ticks(c.lab)}"/></svg>` +
        `<span class="meta">${num(c.images)} of frames 0–${frames - 1}</span></div>`;
    }
    $('strips-body').innerHTML = s;
  }

  // --- select options, with counts over the whole project (from the index) ---
  function fillFilters() {
    const ds = new Array(D.datasets.length).fill(0), sp = new Array(D.splits.length).fill(0);
    for (const v of VID) { ds[v[V_DS]] += v[V_IMAGES]; sp[v[V_SPLIT]] += v[V_IMAGES]; }
    const opts = (id, names, counts) => {
      let s = $(id).options[0].outerHTML;
      names.forEach((nm, k) => { if (counts[k] > 0) s += `<option value="${k}">${esc(nm)} (${num(counts[k])})</option>`; });
      $(id).innerHTML = s;
    };
    opts('f-class', CLS.map((c) => c.t), D.class_images);
    opts('f-tag', TAGS, D.tag_images);
    opts('f-video', VID.map((v) => v[0] + ' — ' + D.datasets[v[V_DS]]), VID.map((v) => v[V_IMAGES]));
    opts('f-dataset', D.datasets, ds);
    opts('f-split', D.splits, sp);
  }

  // --- the full view ---
  let open = -1;
  async function full(i) {
    open = i;
    await need([i]);
    if (open !== i) return;
    const im = row(i), v = VID[im[VIDEO]];
    const note = base() == null ? '<p class="note" id="full-note">The thumbnail is shown: this page was opened from a file and its dataset is in a store — full-size images: run with --serve.</p>' : '';
    $('full-pic').innerHTML = `<div class="box"><img alt="" src="${esc(fullURL(im))}">${svg(im)}</div>`;
    const tagList = (ts) => (ts && ts.length ? ts.map((t) => esc(tagText(t))).join(', ') : '–');
    let s = `<h2>${esc(im[NAME])}</h2>${note}<table>` +
      `<tr><th>video</th><td>${esc(v[0])}</td></tr><tr><th>dataset</th><td>${esc(D.datasets[v[V_DS]])}</td></tr>` +
      `<tr><th>frame</th><td>${num(im[FRAME])}</td></tr><tr><th>time</th><td>${isNum(im[TIME]) ? im[TIME] + ' s' : '–'}</td></tr>` +
      `<tr><th>pts</th><td>${num(im[PTS])}</td></tr><tr><th>size</th><td>${num(im[W])}×${num(im[H])}</td></tr>` +
      `<tr><th>tags</th><td>${tagList(im[ITAGS])}</td></tr></table>`;
    if (im[PROBS]) s += `<h3 class="problem">problems</h3><ul class="problem">${im[PROBS].map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`;
    const ls = labelsOf(im);
    s += `<h3>${ls.length} label${ls.length === 1 ? '' : 's'}</h3><ul id="full-labels">`;
    ls.forEach((l, li) => {
      const c = cls(l[0]);
      s += `<li data-label="${li}" data-class="${esc(c.t)}"><span class="sw" style="background:${colour(c.c)}"></span><b>${esc(c.t)}</b> ` +
        `${Object.hasOwn(KINDS, l[1]) ? KINDS[l[1]] : esc(l[2]) + ' (not drawn)'}` +
        `${l[3] != null ? ` · object_id <span class="oid">${esc(l[3])}</span>` : ''}` +
        `${l[4] ? ` · ${tagList(l[4])}` : ''}</li>`;
    });
    s += `</ul><p><a href="${esc(fullURL(im))}" target="_blank" rel="noopener">open the image</a> · <small>${esc(key(im))}</small></p>`;
    $('full-info').innerHTML = s;
    $('full').hidden = false;
    fit();
  }
  // fit scales the full view's image (and its labels with it) to the space
  // beside the panel, small frames up as well as large ones down.
  function fit() {
    const im = row(open), area = $('full-pic'), box = area.querySelector('.box');
    if (!box || !(im[W] > 0 && im[H] > 0)) return;
    const k = Math.min(area.clientWidth / im[W], area.clientHeight / im[H]);
    box.style.width = Math.floor(im[W] * k) + 'px';
    box.style.height = Math.floor(im[H] * k) + 'px';
    box.classList.toggle('up', k > 1); // a small frame enlarged: show its pixels, not a blur
  }
  window.addEventListener('resize', () => { if (open >= 0) fit(); });
  function close() { $('full').hidden = true; open = -1; }
  function step(d) { // the next or previous image shown
    const k = shown ? shown.indexOf(open) : open;
    if (k >= 0 && k + d >= 0 && k + d < count()) busy(() => full(at(k + d)));
  }

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
  $('grid').addEventListener('click', (e) => { const c = e.target.closest('.card'); if (c) busy(() => full(+c.dataset.i)); });
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
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowRight') step(1);
    else if (e.key === 'ArrowLeft') step(-1);
  });

  // --- start: the first page first, then what takes a pass over the index ---
  document.title = (D.title || 'vpipe') + ' — vpipe preview';
  $('title').textContent = D.title || 'vpipe preview';
  $('summary').textContent = `${N} images · ${VID.length} videos · ${CLS.length} classes`;
  busy(async () => {
    await renderPage();
    // VPIPE_FIRST: ms from navigation to the first page of cards painted (tests read it).
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
    window.VPIPE_FIRST = performance.now();
    fillFilters();
    renderNumbers();
    renderStrips();
  });
})();
