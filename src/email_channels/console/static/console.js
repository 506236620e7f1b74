// The console works without this file. With it: "Verify now" swaps the records table in
// place (no page load, no history entry), copy buttons ("Copy name", "Copy value", ...) copy,
// and "Delete setup" opens the confirmation dialog instead of loading the page with it open.
"use strict";

(() => {
  const RECORDS_ID = "dns-records";

  function showCopyButtons(root) {
    for (const button of root.querySelectorAll("button[data-copy]")) {
      button.hidden = false;
    }
  }

  function announce(text) {
    const status = document.getElementById("verify-status");
    if (status) status.textContent = text;
  }

  async function copyValue(button) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const text = source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard API (plain HTTP other than localhost): select the text and use the older
      // command; if even that is refused, the text stays selected for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      if (!document.execCommand("copy")) {
        announce("Selected: press Ctrl+C (or Cmd+C) to copy.");
        return;
      }
    }
    // The accessible name follows the visible word ("Copy name" becomes "Copied name").
    for (const other of document.querySelectorAll("button.copied")) {
      other.textContent = "Copy";
      other.setAttribute("aria-label", other.dataset.label);
      other.classList.remove("copied");
    }
    button.dataset.label = button.getAttribute("aria-label");
    button.setAttribute("aria-label", button.dataset.label.replace(/^Copy/, "Copied"));
    button.textContent = "Copied";
    button.classList.add("copied");
    announce(`Copied ${text}`);
  }

  async function verify(form) {
    if (form.dataset.busy === "true") return;
    form.dataset.busy = "true";
    form.setAttribute("aria-busy", "true");
    announce("Checking the DNS records…");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-Console-Fragment": "records" },
        credentials: "same-origin",
      });
      if (!response.ok) {
        // Signed out, deleted meanwhile, refused: the page itself says why.
        window.location.reload();
        return;
      }
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      const fresh = template.content.getElementById(RECORDS_ID);
      const current = document.getElementById(RECORDS_ID);
      if (!fresh || !current) {
        window.location.reload();
        return;
      }
      showCopyButtons(fresh);
      current.replaceWith(fresh);
      announce(`Checked: ${fresh.dataset.summary}`);
    } catch {
      announce("The check could not be run: the console did not answer. Try again.");
    } finally {
      form.dataset.busy = "false";
      form.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("form[data-swap-records]")) {
      event.preventDefault();
      verify(form);
    } else if (form.matches("form[data-opens-dialog]")) {
      const dialog = document.getElementById(form.dataset.opensDialog);
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        if (dialog.open) dialog.close();
        dialog.showModal();
      }
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (button) copyValue(button);
  });

  document.addEventListener("DOMContentLoaded", () => showCopyButtons(document));
})();
