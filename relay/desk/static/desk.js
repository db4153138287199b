// The desk's forms: the size on air while one types, and a draft kept on the node (and in this browser).
(function () {
  'use strict';
  var form = document.getElementById('entry');
  var preview = document.getElementById('preview');
  if (preview && window.localStorage) { localStorage.removeItem('relay-draft-' + preview.dataset.clear); }
  var summary = document.getElementById('summary');
  if (summary) { summary.focus(); }
  var log = document.querySelector('[data-live]');
  if (log && window.EventSource) {
    new EventSource('/events').addEventListener('update', function () {
      var url = location.pathname + location.search + (location.search ? '&' : '?') + 'partial=1';
      fetch(url).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('[data-live]');
        if (fresh && !log.contains(document.activeElement)) { log.innerHTML = fresh.innerHTML; }
      });
    });
  }
  if (!form) { document.documentElement.dataset.desk = 'ready'; return; }
  var key = 'relay-draft-' + form.dataset.kind;
  var draft = form.elements.namedItem('draft');
  var cost = document.getElementById('cost');
  var warning = document.getElementById('warning');
  var timer = null;
  if (!draft.value && window.localStorage && localStorage.getItem(key)) {
    var kept = JSON.parse(localStorage.getItem(key));  // typed while the node could not be reached
    Object.keys(kept).forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (el && !el.value && name !== 'csrf') { el.value = kept[name]; }
    });
  }
  function keepLocally() {
    if (!window.localStorage) { return; }
    var data = {};
    new FormData(form).forEach(function (value, name) { if (name !== 'csrf') { data[name] = value; } });
    localStorage.setItem(key, JSON.stringify(data));
  }
  function measure() {
    fetch(form.dataset.measure, { method: 'POST', body: new FormData(form), credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer) { return; }
        draft.value = answer.draft;
        history.replaceState(null, '', location.pathname + '?draft=' + answer.draft);
        cost.textContent = answer.ok ? answer.cost : '';
        warning.textContent = answer.ok ? answer.warning : '';
      }, function () { cost.textContent = ''; });
  }
  form.addEventListener('input', function () {
    keepLocally();
    clearTimeout(timer);
    timer = setTimeout(measure, 400);
  });
  if (form.querySelector('[aria-invalid]') === null) { measure(); }
  document.documentElement.dataset.desk = 'ready';  // the listeners are in place (the tests wait for it)
})();
