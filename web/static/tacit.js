// tacit: the one script. Every page works without it; it only moves focus,
// adds a copy button and drives passkeys (which need it, and are not
// offered without it). It is served from this origin, which the
// Content-Security-Policy admits (script-src 'self'); there is no inline
// script anywhere.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // After a server-side error, focus the summary of what went wrong, so a
  // screen reader announces it and a keyboard user starts there.
  const summary = document.querySelector("[data-focus]");
  if (summary) {
    summary.focus();
  }

  // Copy buttons copy the text of the element their data-copy names.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) {
      continue;
    }
    const label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.dataset.text || source.textContent.trim());
        button.textContent = "Copied";
      } catch {
        button.textContent = "Could not copy: select the codes and copy them";
      }
      setTimeout(() => { button.textContent = label; }, 4000);
    });
  }
});

// Passkeys (WebAuthn). The pages offer them only where the server has
// them on (data-passkey-* blocks, hidden until this script shows them)
// and the browser has WebAuthn; everything else works without.
const b64url = {
  decode(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buf) {
    let s = "";
    for (const byte of new Uint8Array(buf)) {
      s += String.fromCharCode(byte);
    }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

// requestOptions and creationOptions turn the server's JSON options into
// what navigator.credentials takes (byte strings as ArrayBuffers).
function requestOptions(o) {
  const pk = { ...o.publicKey, challenge: b64url.decode(o.publicKey.challenge) };
  if (pk.allowCredentials) {
    pk.allowCredentials = pk.allowCredentials.map((c) => ({ ...c, id: b64url.decode(c.id) }));
  }
  return pk;
}

function creationOptions(o) {
  const pk = { ...o.publicKey, challenge: b64url.decode(o.publicKey.challenge) };
  pk.user = { ...pk.user, id: b64url.decode(pk.user.id) };
  if (pk.excludeCredentials) {
    pk.excludeCredentials = pk.excludeCredentials.map((c) => ({ ...c, id: b64url.decode(c.id) }));
  }
  return pk;
}

// credentialJSON is a PublicKeyCredential as the server reads it.
function credentialJSON(c) {
  const r = c.response;
  const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64url.encode(r.attestationObject);
    if (r.getTransports) {
      response.transports = r.getTransports();
    }
  } else {
    response.authenticatorData = b64url.encode(r.authenticatorData);
    response.signature = b64url.encode(r.signature);
    if (r.userHandle) {
      response.userHandle = b64url.encode(r.userHandle);
    }
  }
  return {
    id: c.id, rawId: b64url.encode(c.rawId), type: c.type, response,
    clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
    authenticatorAttachment: c.authenticatorAttachment || undefined,
  };
}

async function postJSON(url, body) {
  const init = { method: "POST", credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(url, init);
}

// passkeyBlock wires one data-passkey-* block: its button runs ceremony,
// which returns where to go, or throws.
function passkeyBlock(block, ceremony) {
  if (!block || !window.PublicKeyCredential) {
    return;
  }
  const error = block.querySelector("[data-passkey-error]");
  const button = block.querySelector("[data-passkey-button]");
  block.hidden = false;
  const run = async (mediation) => {
    if (error) {
      error.hidden = true;
    }
    try {
      const to = await ceremony(mediation);
      if (to) {
        window.location.assign(to);
      }
    } catch (e) {
      if (e && e.name === "AbortError") {
        return;
      }
      if (error) {
        if (e && e.message && e.userMessage) {
          error.textContent = e.message;
        }
        error.hidden = false;
      }
    }
  };
  button.addEventListener("click", () => run(null));
  return run;
}

function failure(message) {
  const e = new Error(message);
  e.userMessage = true;
  return e;
}

document.addEventListener("DOMContentLoaded", () => {
  // Sign in with a passkey, no address typed; also offered by the
  // browser's autofill on the address field (conditional mediation).
  const login = document.querySelector("[data-passkey-login]");
  let pending = null;
  const run = passkeyBlock(login, async (mediation) => {
    if (pending) {
      pending.abort();
    }
    const abort = new AbortController();
    pending = mediation ? abort : null;
    const options = await (await postJSON("/api/passkey/login/options")).json();
    const get = { publicKey: requestOptions(options), signal: abort.signal };
    if (mediation) {
      get.mediation = mediation;
    }
    const cred = await navigator.credentials.get(get);
    const res = await postJSON("/api/passkey/login", { credential: credentialJSON(cred) });
    if (!res.ok) {
      throw new Error("refused");
    }
    return login.dataset.next || "/account";
  });
  if (run && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
      if (ok) {
        run("conditional");
      }
    });
  }

  // A passkey as the second step after the password.
  const second = document.querySelector("[data-passkey-second-step]");
  passkeyBlock(second, async () => {
    const opt = await postJSON("/api/login/mfa/passkey/options");
    if (!opt.ok) {
      throw new Error("refused");
    }
    const cred = await navigator.credentials.get({ publicKey: requestOptions(await opt.json()) });
    const res = await postJSON("/api/login/mfa/passkey", { credential: credentialJSON(cred) });
    if (!res.ok) {
      throw new Error("refused");
    }
    return second.dataset.next || "/account";
  });

  // Adding a passkey on the account page.
  const add = document.querySelector("[data-passkey-add]");
  passkeyBlock(add, async () => {
    const password = document.getElementById("pk-password");
    const opt = await postJSON("/api/passkeys/options", { password: password.value });
    if (opt.status === 422) {
      throw failure("Type your password: you signed in more than 10 minutes ago.");
    }
    if (opt.status === 401) {
      throw failure("That password is not right.");
    }
    if (!opt.ok) {
      throw failure("The passkey could not be added. Reload the page and try again.");
    }
    const cred = await navigator.credentials.create({ publicKey: creationOptions(await opt.json()) });
    const res = await postJSON("/api/passkeys", { name: document.getElementById("pk-name").value, credential: credentialJSON(cred) });
    if (!res.ok) {
      throw failure("The passkey could not be added. Try again.");
    }
    return "/account?done=passkey_added";
  });
});

// Browser checks (proof of work). A form that needs one has a
// data-proof block with the challenge; a worker solves it in the
// background and fills the hidden "altcha" field. The status line says
// what is going on (a live region, so screen readers hear it) and never
// takes focus. Sending the form before the check is done waits for it
// and then sends the form; without script the block's noscript says a
// check is needed.
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-proof]")) {
    const form = box.closest("form");
    const field = box.querySelector("input[name=altcha]");
    const status = box.querySelector("[data-proof-status]");
    let challenge;
    try {
      challenge = JSON.parse(box.dataset.proof);
    } catch {
      continue;
    }
    if (!form || !field || !status || !window.Worker || !window.crypto || !crypto.subtle) {
      if (status) {
        status.textContent = "This browser cannot run the check this form needs. Try another browser.";
      }
      continue;
    }
    let solved = false;
    let sendWhenDone = null;
    status.textContent = "Checking your browser\u2026";
    const worker = new Worker(box.dataset.proofWorker);
    worker.onmessage = (event) => {
      worker.terminate();
      if (event.data.number === null) {
        status.textContent = "The browser check failed. Reload the page to try again.";
        return;
      }
      field.value = btoa(JSON.stringify({
        algorithm: challenge.algorithm,
        challenge: challenge.challenge,
        number: event.data.number,
        salt: challenge.salt,
        signature: challenge.signature,
      }));
      box.dataset.proofTook = String(event.data.took);
      solved = true;
      status.textContent = "Browser check done.";
      if (sendWhenDone) {
        form.requestSubmit(sendWhenDone.submitter || undefined);
      }
    };
    worker.onerror = () => {
      status.textContent = "The browser check failed. Reload the page to try again.";
    };
    worker.postMessage({ challenge: challenge.challenge, salt: challenge.salt, maxnumber: challenge.maxnumber });
    form.addEventListener("submit", (event) => {
      if (solved) {
        return;
      }
      event.preventDefault();
      sendWhenDone = { submitter: event.submitter };
      status.textContent = "Checking your browser\u2026 The form will be sent when the check is done.";
    });
  }
});
