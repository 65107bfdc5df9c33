// tacit: the one script. Every page works without it; it only moves focus
// and adds a copy button. It is served from this origin, which the
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
