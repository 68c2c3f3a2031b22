// acmehub hub console: copy buttons and confirmations. Every form works
// without this file; it only adds conveniences.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  const text = source.value !== undefined ? source.value : source.textContent;
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => select(source));
  } else {
    select(source);
  }
});

// select leaves the text selected, for the user to copy by hand.
function select(source) {
  if (source.select) {
    source.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(source);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// A new token's secret is shown once. When the page is left, the secret
// goes from it, so that the browser's Back, which may restore the page
// from its back/forward cache, does not show it again; a page restored
// that way is loaded anew, and the hub answers that the secret was shown.
window.addEventListener("pagehide", () => {
  for (const element of document.querySelectorAll("[data-secret]")) {
    if (element.tagName === "INPUT") {
      element.value = "";
      element.removeAttribute("value");
    } else {
      element.textContent = "";
    }
  }
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted && document.querySelector("[data-secret]")) location.reload();
});

// The config form shows the credential fields of the selected provider
// only; the others are disabled, so that they are not sent. Without this
// file every provider's fields show, and the hub reads the selected one's.
function showProviderFields() {
  const select = document.getElementById("provider");
  if (!select) return;
  for (const fieldset of document.querySelectorAll("fieldset.credentials")) {
    const selected = fieldset.dataset.provider === select.value;
    fieldset.hidden = !selected;
    fieldset.disabled = !selected;
  }
}
document.addEventListener("change", (event) => {
  if (event.target.id === "provider") showProviderFields();
});
showProviderFields();
