// tacit's proof-of-work worker: finds the number n in [0, maxnumber] for
// which SHA-256(salt + n), in hex, is the challenge (ALTCHA's scheme), off
// the page's main thread so the form stays responsive. It is started by
// tacit.js from this origin (script-src 'self'); it fetches nothing.
"use strict";

// Digests run a batch at a time: WebCrypto is asynchronous, and awaiting
// each one alone spends more time waiting than hashing.
const batch = 256;

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.substr(2 * i, 2), 16);
  }
  return out;
}

function same(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      return false;
    }
  }
  return true;
}

self.onmessage = async (event) => {
  const { challenge, salt, maxnumber } = event.data;
  const want = hexBytes(challenge);
  const enc = new TextEncoder();
  const start = performance.now();
  for (let from = 0; from <= maxnumber; from += batch) {
    const to = Math.min(from + batch, maxnumber + 1);
    const pending = [];
    for (let n = from; n < to; n++) {
      pending.push(crypto.subtle.digest("SHA-256", enc.encode(salt + n)));
    }
    const sums = await Promise.all(pending);
    for (let i = 0; i < sums.length; i++) {
      if (same(new Uint8Array(sums[i]), want)) {
        self.postMessage({ number: from + i, took: Math.round(performance.now() - start) });
        return;
      }
    }
  }
  self.postMessage({ number: null });
};
