// The subscribe form's proof of work (see listd/web/antibot.py): find N such that
// SHA-256(challenge ":" N) starts with `difficulty` zero bits, then let the form be sent.
"use strict";
(function () {
  const form = document.getElementById("subscribe-form");
  if (!form || !window.crypto || !window.crypto.subtle) { return; }
  const button = document.getElementById("subscribe-button");
  const status = document.getElementById("work-status");
  const challenge = form.dataset.challenge;
  const difficulty = parseInt(form.dataset.difficulty, 10);
  const started = Date.now();
  const encoder = new TextEncoder();

  function zeroBits(bytes) {
    let bits = 0;
    for (const byte of bytes) {
      if (byte === 0) { bits += 8; continue; }
      return bits + Math.clz32(byte) - 24;
    }
    return bits;
  }

  async function solve() {
    for (let n = 0; ; n += 1) {
      const digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge + ":" + n));
      if (zeroBits(new Uint8Array(digest)) >= difficulty) { return String(n); }
    }
  }

  status.textContent = "…";
  solve().then(function (work) {
    form.elements.work.value = work;
    const wait = Math.max(0, 1100 - (Date.now() - started));
    setTimeout(function () {
      button.disabled = false;
      status.textContent = "";
      form.dataset.ready = "yes";
    }, wait);
  });
})();
